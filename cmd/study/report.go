package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// plotCaptions say what each picture shows; results.json lists them.
var plotCaptions = map[string]string{
	"long-range.png":        "experiment 1: held-out token accuracy against the distance k of lag<k>",
	"gradients.png":         "experiment 2: mean ‖∂L_j/∂x_i‖ against j − i, at initialisation and after training",
	"parallelism.png":       "experiment 3: time per training step and sequential depth against sequence length",
	"attention-reverse.png": "experiment 4: the transformer's attention weights on one reverse example",
	"attention-recall.png":  "experiment 4: the transformer's attention weights on one recall example",
	"saliency-reverse.png":  "experiment 4: gradient saliency of both models on the same reverse example",
	"saliency-recall.png":   "experiment 4: gradient saliency of both models on the same recall example",
	"parity.png":            "experiment 5: running-parity token accuracy against length",
}

// writeReport writes results.json, REPORT.md and the pictures into dir.
func writeReport(dir string, r *Results, pics map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Plots = map[string]string{}
	for name := range pics {
		r.Plots[name] = plotCaptions[name]
	}
	if err := checkFinite(r); err != nil {
		return err
	}
	for name, b := range pics {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "REPORT.md"), []byte(markdown(r)), 0o644); err != nil {
		return err
	}
	// Last: results.json marks the directory as a report a later study may
	// replace.
	return os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644)
}

// checkFinite reports a NaN or infinity anywhere in r, which JSON cannot
// hold and which would mean a measurement went wrong.
func checkFinite(r *Results) error {
	if _, err := json.Marshal(r); err != nil {
		return fmt.Errorf("results: %w", err) // encoding/json refuses NaN and ±Inf
	}
	return nil
}
