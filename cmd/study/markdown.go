package main

import (
	"fmt"
	"strings"
)

// markdown renders REPORT.md: every claim, how it was measured, the
// numbers and the verdict.
func markdown(r *Results) string {
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	verdict := func(claim string) Verdict {
		for _, v := range r.Verdicts {
			if v.Claim == claim {
				return v
			}
		}
		return Verdict{}
	}
	say := func(claim string) {
		v := verdict(claim)
		f("**Claim:** %s. **Verdict: %s.** %s\n\n", v.Claim, v.Verdict, v.Evidence)
	}

	f("# Why attention: the study\n\n")
	f("A transformer encoder and a bidirectional LSTM, at matched parameter counts, trained with the same loop, data and seed, on the tasks that test the claims made for attention over recurrence. ")
	f("Scale `%s`, seed %d, %d cores, %.0f s in all. Written by `go run ./cmd/study", r.Scale, r.Seed, r.Cores, r.WallSeconds)
	if r.Scale == "quick" {
		f(" -quick")
	}
	f("`; every number below is in `results.json`. Accuracies are on held-out data the model never trained on; the same command with the same seed gives the same numbers, timings aside.\n\n")
	f("Transformer: d_model %d, %d heads, %d post-norm layers, d_ff %d, sinusoidal positions. LSTM: %d bidirectional layer, hidden size chosen per task so that its parameter count is the closest to the transformer's. Both: AdamW at %g with warmup and cosine decay, batch as the task's preset, float32.\n\n",
		tDModel, tHeads, tLayers, tDFF, lstmLayers, studyLR)

	f("## Verdicts\n\n| claim | verdict |\n|---|---|\n")
	for _, v := range r.Verdicts {
		f("| %s | **%s** |\n", v.Claim, v.Verdict)
	}
	f("\nThe essay's fifth claim — every token sees its whole context — is built into both models here: the LSTM reads in both directions, so it is not tested apart.\n\n")

	f("## Models\n\n| task | transformer parameters | LSTM parameters | LSTM hidden size | difference |\n|---|---|---|---|---|\n")
	for _, m := range r.Models {
		f("| %s | %d | %d | %d | %+.1f%% |\n", m.Task, m.TransformerParams, m.LSTMParams, m.LSTMHidden, 100*m.RelDiff)
	}

	lr := r.LongRange
	f("\n## 1. Long-range dependencies\n\n")
	f("Task `lag<k>`: target[i] = input[i−k] over 10 random symbols, lengths k+1 to k+%d (so every example scores 1 to %d targets whatever k is), %d steps each. Held-out test accuracy over %d examples:\n\n", lagSpan, lagSpan, lr.Steps, lr.TestExamples)
	f("| k | lengths | transformer token | LSTM token | transformer sequence | LSTM sequence |\n|---|---|---|---|---|---|\n")
	for _, p := range lr.Points {
		f("| %d | %d–%d | %s | %s | %s | %s |\n", p.K, p.MinLen, p.MaxLen, pct(p.Token.Transformer), pct(p.Token.LSTM), pct(p.Sequence.Transformer), pct(p.Sequence.LSTM))
	}
	f("\n![long-range](long-range.png)\n\n")
	say(claimLongRange)

	g := r.Gradients
	f("## 2. Gradient flow\n\n")
	f("‖∂L_j/∂x_i‖: the norm of the gradient of the loss at position j with respect to the model's input at position i (the embedding, after the positions for the transformer), in float64, without dropout, batch 1. The probe adds a zero offset δ to the input and marks every target but j as ignored, so the loss is exactly L_j and row i of ∂L/∂δ is ∂L_j/∂x_i. Mean over %d examples of length %d of `%s`, every j with a target and every i, by distance j − i; the models are experiment 1's, before and after training.\n\n", g.Examples, g.Length, g.Task)
	f("| model | stage | mean norm, \\|j−i\\| ≤ 1 | mean norm, \\|j−i\\| ≥ %d | far / near |\n|---|---|---|---|---|\n", (g.Length+1)/2)
	for _, c := range g.Curves {
		f("| %s | %s | %.3g | %.3g | %.3g |\n", c.Model, c.Stage, c.NearNorm, c.FarNorm, c.FarToNear)
	}
	f("\n![gradients](gradients.png)\n\n")
	say(claimGradients)

	pr := r.Parallelism
	f("## 3. Parallelism\n\n")
	f("Time of one training step (forward, backward, gradient clipping; no optimizer update) on a batch of %d `%s` sequences of length T, median of %d after warm-up, at matched size for each T. ", pr.Batch, pr.Task, pr.Reps)
	f("Sequential depth is the number of steps that must run one after another, derived from the architecture (`train.SequentialDepth`): a transformer layer computes every position at once from the layer below, a fixed chain of matrix operations whatever T is, so its depth is its number of layers; an LSTM layer's state at position t needs its state at t−1, so its depth is layers × T (a bidirectional layer's two directions run side by side).\n\n")
	f("| T | transformer depth | LSTM depth | transformer ms/step | LSTM ms/step |\n|---|---|---|---|---|\n")
	for _, p := range pr.Points {
		f("| %d | %d | %d | %.1f | %.1f |\n", p.T, p.TransformerDepth, p.LSTMDepth, p.TransformerMs, p.LSTMMs)
	}
	f("\n![parallelism](parallelism.png)\n\n")
	say(claimParallel)
	f("Wall time on %d CPU cores is not depth: a core does one thing at a time, so what a step costs is its arithmetic (the transformer's attention grows with T², the LSTM's with T) and the framework's overhead per operation. Depth bounds the time only on hardware wide enough to run every independent operation at once, such as a GPU. Timings were taken while other work may have shared the machine; they are noisy.\n\n", r.Cores)

	f("## 4. Interpretability\n\n")
	f("Each head's alignment score is the mean attention weight that a scored position, as the query, puts on the input position its answer comes from (reverse: n−1−i; recall: the value after the queried key), over %d held-out examples; chance is a head spreading its weight evenly. The LSTM has no weights to read; the nearest analogue is gradient saliency, experiment 2's ‖∂L_j/∂x_i‖ with each row scaled to sum to 1, scored by the same rule (one backward pass per position, where attention weights come with the forward pass).\n\n", r.Interpretability[0].Examples)
	for _, in := range r.Interpretability {
		f("### %s\n\n", in.Task)
		f("%d steps. Held-out sequence accuracy: transformer %s, LSTM %s (token: %s, %s).\n\n", in.Steps, pct(in.Sequence.Transformer), pct(in.Sequence.LSTM), pct(in.Token.Transformer), pct(in.Token.LSTM))
		f("| layer |")
		for h := range in.Scores[0] {
			f(" head %d |", h)
		}
		f("\n|---|%s\n", strings.Repeat("---|", len(in.Scores[0])))
		for l, row := range in.Scores {
			f("| %d |", l)
			for _, v := range row {
				f(" %.3f |", v)
			}
			f("\n")
		}
		f("\nChance %.3f; best head: layer %d, head %d, %.3f (%.1f× chance), over %d scored positions. Gradient saliency on the same rule: transformer %.3f, LSTM %.3f.\n\n", in.Chance, in.BestLayer, in.BestHead, in.Best, in.Best/in.Chance, in.Positions, in.Saliency.Transformer, in.Saliency.LSTM)
		f("![attention on %s](attention-%s.png)\n\n![saliency on %s](saliency-%s.png)\n\n", in.Task, in.Task, in.Task, in.Task)
	}
	say(claimReadable)

	nc := r.NegativeControl
	f("## 5. Negative control\n\n")
	f("`%s`: each position is tagged with the parity of the 1s up to it — one bit of state for a recurrent network, a count over the whole prefix for attention. Trained on lengths %d–%d for %d steps, then tested on fresh sequences of each length, the first the longest trained on.\n\n", nc.Task, nc.TrainMinLen, nc.TrainMaxLen, nc.Steps)
	f("Held-out token accuracy at the trained lengths: transformer %s, LSTM %s.\n\n", pct(nc.Test.Transformer), pct(nc.Test.LSTM))
	f("| length | transformer token | LSTM token | transformer sequence | LSTM sequence |\n|---|---|---|---|---|\n")
	for _, p := range nc.Points {
		f("| %d | %s | %s | %s | %s |\n", p.Len, pct(p.Token.Transformer), pct(p.Token.LSTM), pct(p.Sequence.Transformer), pct(p.Sequence.LSTM))
	}
	f("\n![parity](parity.png)\n\n")
	say(claimControl)
	return b.String()
}
