package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
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

// The claims, in the essay's order.
const (
	claimLongRange = "Attention links distant positions directly, whatever their distance"
	claimGradients = "Attention avoids the vanishing gradients of back-propagation through time"
	claimParallel  = "Attention computes all positions in parallel"
	claimReadable  = "Attention exposes weights a person can read"
	claimControl   = "Negative control: recurrence does better where the task is a running state"
)

// verdicts judges each claim from the numbers, by rules stated in the
// evidence, so that a different machine or seed can reverse a verdict.
func verdicts(r *Results) []Verdict {
	var out []Verdict
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

	// 1. Long range: does the transformer keep its accuracy as k grows,
	// and does the LSTM lose more?
	lr := r.LongRange.Points
	tMin, lMin, tAt, lAt := math.Inf(1), math.Inf(1), 0, 0
	for _, p := range lr {
		if p.Token.Transformer < tMin {
			tMin, tAt = p.Token.Transformer, p.K
		}
		if p.Token.LSTM < lMin {
			lMin, lAt = p.Token.LSTM, p.K
		}
	}
	last := lr[len(lr)-1]
	ev := fmt.Sprintf("lag%d (the longest distance): transformer %s, LSTM %s; worst over k: transformer %s (k=%d), LSTM %s (k=%d).",
		last.K, pct(last.Token.Transformer), pct(last.Token.LSTM), pct(tMin), tAt, pct(lMin), lAt)
	var v string
	switch {
	case tMin >= 0.95 && lMin < tMin-0.05:
		v = "holds"
	case tMin >= 0.95:
		v = "not shown"
		ev += " Both models reach ≥ 95% at every distance tried: at these lengths distance does not hurt the LSTM either."
	case last.Token.Transformer > last.Token.LSTM+0.05:
		v = "partly"
		ev += " The transformer is ahead at the longest distance but does not reach 95% everywhere."
	default:
		v = "does not hold"
		ev += " The transformer does not keep its accuracy as k grows, at this budget of steps."
	}
	out = append(out, Verdict{claimLongRange, v, ev})

	// 2. Gradients: the far-to-near ratio of the gradient norms.
	ratio := map[string]float64{}
	for _, c := range r.Gradients.Curves {
		ratio[c.Model+"/"+c.Stage] = c.FarToNear
	}
	ev = fmt.Sprintf("Mean ‖∂L_j/∂x_i‖ at |j−i| ≥ %d over |j−i| ≤ 1 on %s (T=%d): at initialisation transformer %.3g, LSTM %.3g; after training transformer %.3g, LSTM %.3g.",
		(r.Gradients.Length+1)/2, r.Gradients.Task, r.Gradients.Length, ratio["transformer/init"], ratio["lstm/init"], ratio["transformer/trained"], ratio["lstm/trained"])
	switch ti, li := ratio["transformer/init"], ratio["lstm/init"]; {
	case ti > 3*li && ti > 0.1:
		v = "holds"
		ev += " At initialisation the LSTM's gradient fades with distance while the transformer's stays within an order of magnitude."
	case ti > li:
		v = "partly"
		ev += " The transformer's gradient fades less with distance, but by less than a factor of 3 over the LSTM's, or fades itself."
	default:
		v = "does not hold"
	}
	if lt, tt := ratio["lstm/trained"], ratio["transformer/trained"]; lt >= tt {
		ev += fmt.Sprintf(" After training the LSTM's far-to-near ratio is %.3g, the transformer's %.3g: training moved the LSTM's gradient out to distant positions, so the fading is a property of recurrence at initialisation rather than a fixed limit — though a large gradient is not a solved task (see experiment 1).", lt, tt)
	}
	out = append(out, Verdict{claimGradients, v, ev})

	// 3. Parallelism: depth by construction; wall time as measured.
	pr := r.Parallelism.Points
	a, b := pr[0], pr[len(pr)-1]
	tGrow, lGrow := b.TransformerMs/a.TransformerMs, b.LSTMMs/a.LSTMMs
	ev = fmt.Sprintf("Sequential depth from T=%d to T=%d: transformer %d → %d, LSTM %d → %d. Time per step on %d cores: transformer %.1f → %.1f ms (×%.1f), LSTM %.1f → %.1f ms (×%.1f).",
		a.T, b.T, a.TransformerDepth, b.TransformerDepth, a.LSTMDepth, b.LSTMDepth, r.Cores, a.TransformerMs, b.TransformerMs, tGrow, a.LSTMMs, b.LSTMMs, lGrow)
	switch {
	case b.TransformerMs < b.LSTMMs && tGrow < lGrow:
		v = "holds"
		ev += " The transformer is faster at the longest length and its time grows more slowly."
	case b.TransformerDepth < b.LSTMDepth:
		v = "partly"
		ev += fmt.Sprintf(" The depth holds by construction, but on %d cores the wall time does not follow it: both models' steps are bound by arithmetic, which grows with T (and T² for attention), not by the chain of dependent steps.", r.Cores)
	default:
		v = "does not hold"
	}
	out = append(out, Verdict{claimParallel, v, ev})

	// 4. Readable weights: best head against chance.
	ok, parts := true, []string{}
	for _, in := range r.Interpretability {
		parts = append(parts, fmt.Sprintf("%s: best head (layer %d, head %d) puts %.2f of its weight on the source (chance %.2f), sequence accuracy %s; gradient saliency scores %.2f (transformer) and %.2f (LSTM)",
			in.Task, in.BestLayer, in.BestHead, in.Best, in.Chance, pct(in.Sequence.Transformer), in.Saliency.Transformer, in.Saliency.LSTM))
		if in.Best < 0.5 || in.Best < 3*in.Chance {
			ok = false
		}
	}
	ev = strings.Join(parts, "; ") + ". The LSTM has no weights to read; its gradient saliency (experiment 2's probe, rows normalised) is the nearest analogue and needs a backward pass per position."
	v = "holds"
	if !ok {
		v = "partly"
		ev += " On at least one task no head reaches 0.5 and 3× chance: the weights are there to read, but they do not show the lookup."
	}
	out = append(out, Verdict{claimReadable, v, ev})

	// 5. Negative control.
	nc := r.NegativeControl
	longest := nc.Points[len(nc.Points)-1]
	ev = fmt.Sprintf("Running parity, trained on lengths %d–%d: held-out token accuracy transformer %s, LSTM %s; at length %d transformer %s, LSTM %s.",
		nc.TrainMinLen, nc.TrainMaxLen, pct(nc.Test.Transformer), pct(nc.Test.LSTM), longest.Len, pct(longest.Token.Transformer), pct(longest.Token.LSTM))
	switch {
	case nc.Test.LSTM > nc.Test.Transformer+0.02 || longest.Token.LSTM > longest.Token.Transformer+0.02:
		v = "holds"
		ev += " The recurrent model does better, as the theory predicts (Hahn, 2020; Bhattamishra et al., 2020; Delétang et al., 2023)."
	default:
		v = "does not hold"
		ev += " The transformer is not behind on this task at this budget."
	}
	out = append(out, Verdict{claimControl, v, ev})
	return out
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
