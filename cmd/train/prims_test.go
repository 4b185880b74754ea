package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPrimitiveModelsRun trains each model written in primitives through
// the command — -model gru, -mask causal, -pos rotary and both — and wants
// the run resumed from its checkpoint at step 8 to end at step 16 with the
// same weights, optimizer state and metrics, byte for byte, as the run
// that went straight on; and refuses settings that do not fit.
func TestPrimitiveModelsRun(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		config []string // what config.json must say
	}{
		{"gru", []string{"-model", "gru", "-len", "6", "-min-len", "2", "-d-model", "16", "-layers", "2", "-batch", "8",
			"-val-examples", "50", "-test-examples", "50", "-warmup", "2", "-dropout", "0.1"}, []string{`"model": "gru"`}},
		{"causal", tiny("-mask", "causal", "-dropout", "0.1"), []string{`"mask": "causal"`}},
		{"rotary", tiny("-pos", "rotary", "-dropout", "0.1"), []string{`"pos": "rotary"`}},
		{"causal rotary", tiny("-mask", "causal", "-pos", "rotary"), []string{`"mask": "causal"`, `"pos": "rotary"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			whole, split := filepath.Join(work, "whole"), filepath.Join(work, "split")
			args := slices.Concat(tt.args, []string{"-task", "copy", "-steps", "16", "-save-every", "8", "-eval-every", "8", "-log-every", "4", "-keep", "3"})
			mustTrain(t, work, append(args, "-out", whole)...)
			cfg, err := os.ReadFile(filepath.Join(whole, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.config {
				if !bytes.Contains(cfg, []byte(want)) {
					t.Errorf("config.json does not say %s:\n%s", want, cfg)
				}
			}
			// The run as if stopped after its checkpoint at step 8.
			if err := os.CopyFS(split, os.DirFS(whole)); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(split, "step-00000016")); err != nil {
				t.Fatal(err)
			}
			if ck := openLatest(t, split); ck.Step() != 8 {
				t.Fatalf("the copy's newest checkpoint is at step %d, want 8", ck.Step())
			}
			if r := mustTrain(t, work, "-resume", split); !strings.Contains(r.stdout, "held-out test") {
				t.Errorf("the resumed run printed no result:\n%s", r.stdout)
			}
			for _, name := range []string{"model.safetensors", "optimizer.safetensors", "state.json"} {
				a, err := os.ReadFile(filepath.Join(whole, "step-00000016", name))
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(split, "step-00000016", name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("step-00000016/%s differs between the uninterrupted and the resumed run", name)
				}
			}
			if ma, mb := untimedMetrics(t, whole), untimedMetrics(t, split); !slices.Equal(ma, mb) || len(ma) < 4 {
				t.Errorf("metrics.jsonl differs:\nuninterrupted %q\nresumed       %q", ma, mb)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-mask", "future"}, `unknown mask "future"`},
		{[]string{"-model", "gru", "-mask", "causal"}, "-mask is a transformer setting"},
		{[]string{"-model", "gru", "-heads", "2"}, "-heads is a transformer setting"},
		{[]string{"-model", "gru", "-directions", "2"}, "directions must be 1 or 2 for an lstm (0: 2) and unset for a gru"},
		{[]string{"-pos", "rotary", "-d-model", "12", "-heads", "4"}, "rotary positions need an even d_model/heads"},
	} {
		work := t.TempDir()
		checkUsageError(t, runTrain(t, work, append(tt.args, "-steps", "2", "-out", filepath.Join(work, "bad"))...), tt.want)
	}
}
