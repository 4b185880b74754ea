package main

import (
	"fmt"
	"slices"
	"strings"
)

// markdown renders REPORT.md: every claim, how it was measured, the
// numbers and the verdict.
func markdown(r *Results) string {
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	// rng is the range over seeds of a median's values, when there are several.
	rng := func(v []float64) string {
		if len(v) < 2 {
			return ""
		}
		return fmt.Sprintf(" (%.1f–%.1f)", 100*slices.Min(v), 100*slices.Max(v))
	}
	tAcc := func(a Accuracy) string { return pct(a.Transformer) + rng(a.TransformerSeeds) }
	lAcc := func(a Accuracy) string { return pct(a.LSTM) + rng(a.LSTMSeeds) }
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
	f("A transformer encoder and a bidirectional LSTM, at matched parameter counts, trained with the same loop and data, on the tasks that test the claims made for attention over recurrence. ")
	runs := "runs"
	if r.Workers == 1 {
		runs = "run"
	}
	f("Scale `%s`, seed %d, %d cores, %d training %s at a time, %.0f s in all. Written by `go run ./cmd/study", r.Scale, r.Seed, r.Cores, r.Workers, runs, r.WallSeconds)
	if r.Scale == "quick" {
		f(" -quick")
	}
	f("`; every number below is in `results.json`. Accuracies are on held-out data the model never trained on; the same command with the same seed gives the same numbers, timings aside. Machine: %s; load average %.1f at the start, %.1f at the end.\n\n", r.Machine, r.Load[0], r.Load[1])
	if r.Scale == quick.Name {
		f("%s\n\n", quickCuts())
	}
	f("Transformer: d_model %d, %d heads, %d post-norm layers, d_ff %d, sinusoidal positions, initialised as the paper's codebases do (embedding N(0, 1/d) scaled by √d, Xavier-uniform projections). LSTM: %d bidirectional layer, hidden size chosen per task so that its parameter count is the closest to the transformer's, initialised as PyTorch initialises nn.Embedding, nn.LSTM and nn.Linear. Both: %s with warmup and cosine decay, gradients clipped at norm %g, batch as the task's preset, float32.\n\n",
		tDModel, tHeads, tLayers, tDFF, lstmLayers, r.Optimizer, r.Clip)
	f("**Tuning.** Each model on each task is tuned the same way: the learning rate is swept over %s at seed %d and the rate with the best validation token accuracy (then loss) is chosen; ", rates(r.LRs), r.Seed)
	if r.ExtendEdges {
		f("when that rate is the smallest or the largest of the grid, one rate a step beyond that edge is tried too (a step is a factor of about 3, the 1–3 grid: %s), the same rule for both models, and the best of all is chosen. ", edgeExamples(r.LRs))
	} else {
		f("this scale does not try rates beyond the grid's edges (the full study does), so a rate chosen at an edge is marked in the table at the end. ")
	}
	f("The chosen configuration is trained with %d seeds (%d to %d). Every accuracy below is the median over those seeds, with the range in parentheses. Every sweep, every rate it tried and its choice are in the table at the end.\n\n",
		r.Seeds, r.Seed, r.Seed+uint64(r.Seeds)-1)

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
		f("| %d | %d–%d | %s | %s | %s | %s |\n", p.K, p.MinLen, p.MaxLen, tAcc(p.Token), lAcc(p.Token), tAcc(p.Sequence), lAcc(p.Sequence))
	}
	f("\n![long-range](long-range.png)\n\n")
	say(claimLongRange)

	g := r.Gradients
	f("## 2. Gradient flow\n\n")
	f("‖∂L_j/∂x_i‖: the norm of the gradient of the loss at position j with respect to the model's input at position i (the embedding, after the positions for the transformer), in float64, without dropout, batch 1. The probe adds a zero offset δ to the input and marks every target but j as ignored, so the loss is exactly L_j and row i of ∂L/∂δ is ∂L_j/∂x_i. Mean over %d examples of length %d of `%s`, every j with a target and every i, by distance j − i; the models are experiment 1's at seed %d and the chosen rates, before and after training.\n\n", g.Examples, g.Length, g.Task, r.Seed)
	f("| model | stage | mean norm, \\|j−i\\| ≤ 1 | mean norm, \\|j−i\\| ≥ %d | far / near |\n|---|---|---|---|---|\n", (g.Length+1)/2)
	for _, c := range g.Curves {
		f("| %s | %s | %.3g | %.3g | %.3g |\n", c.Model, c.Stage, c.NearNorm, c.FarNorm, c.FarToNear)
	}
	f("\n![gradients](gradients.png)\n\n")
	say(claimGradients)

	pr := r.Parallelism
	f("## 3. Parallelism\n\n")
	f("Time of one training step (forward, backward, gradient clipping; no optimizer update) on a batch of %d `%s` sequences of length T, median of %d after warm-up, with the fastest and slowest in parentheses, at matched size for each T. ", pr.Batch, pr.Task, pr.Reps)
	f("Sequential depth is the number of steps that must run one after another, derived from the architecture (`train.SequentialDepth`): a transformer layer computes every position at once from the layer below, a fixed chain of matrix operations whatever T is, so its depth is its number of layers; an LSTM layer's state at position t needs its state at t−1, so its depth is layers × T (a bidirectional layer's two directions run side by side).\n\n")
	f("| T | transformer depth | LSTM depth | transformer ms/step | LSTM ms/step |\n|---|---|---|---|---|\n")
	for _, p := range pr.Points {
		f("| %d | %d | %d | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) |\n", p.T, p.TransformerDepth, p.LSTMDepth, p.Transformer.Median, p.Transformer.Min, p.Transformer.Max, p.LSTM.Median, p.LSTM.Min, p.LSTM.Max)
	}
	f("\n![parallelism](parallelism.png)\n\n")
	say(claimParallel)
	f("Wall time on %d CPU cores is not depth: a core does one thing at a time, so what a step costs is its arithmetic (the transformer's attention grows with T², the LSTM's with T) and the framework's overhead per operation. Depth bounds the time only on hardware wide enough to run every independent operation at once, such as a GPU. Timings depend on the machine and its load (above); the verdict counts a difference only beyond the spread of the timed steps.\n\n", r.Cores)

	f("## 4. Interpretability\n\n")
	f("Each head's alignment score is the mean attention weight that a scored position, as the query, puts on the input position its answer comes from (reverse: n−1−i; recall: the value after the queried key), over %d held-out examples; chance is a head spreading its weight evenly. The LSTM has no weights to read; the nearest analogue is gradient saliency, experiment 2's ‖∂L_j/∂x_i‖ with each row scaled to sum to 1, scored by the same rule (one backward pass per position, where attention weights come with the forward pass).\n\n", r.Interpretability[0].Examples)
	for _, in := range r.Interpretability {
		f("### %s\n\n", in.Task)
		f("%d steps. Held-out sequence accuracy: transformer %s, LSTM %s (token: %s, %s). The maps and scores are of seed %d's models.\n\n", in.Steps, tAcc(in.Sequence), lAcc(in.Sequence), tAcc(in.Token), lAcc(in.Token), r.Seed)
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
	f("Held-out token accuracy at the trained lengths: transformer %s, LSTM %s.\n\n", tAcc(nc.Test), lAcc(nc.Test))
	f("| length | transformer token | LSTM token | transformer sequence | LSTM sequence |\n|---|---|---|---|---|\n")
	for _, p := range nc.Points {
		f("| %d | %s | %s | %s | %s |\n", p.Len, tAcc(p.Token), lAcc(p.Token), tAcc(p.Sequence), lAcc(p.Sequence))
	}
	f("\n![parity](parity.png)\n\n")
	say(claimControl)

	f("## 6. Length generalisation\n\n")
	f("Each model is trained on lengths up to N (the task's preset) and tested on fresh examples of length N, 3N/2 and 2N — every seed, the same examples for both models. Sinusoidal positions are defined at any length, so the transformer can be given 2N positions; it has never seen those past N. copy is trained here; reverse and running parity are experiments 4's and 5's models.\n\n")
	f("| task | trained on | length | transformer token | LSTM token | transformer sequence | LSTM sequence |\n|---|---|---|---|---|---|---|\n")
	for _, g := range r.Length {
		for _, p := range g.Points {
			f("| %s | %d–%d | %d | %s | %s | %s | %s |\n", g.Task, g.TrainMinLen, g.TrainMaxLen, p.Len, tAcc(p.Token), lAcc(p.Token), tAcc(p.Sequence), lAcc(p.Sequence))
		}
	}
	f("\n")
	say(claimLength)

	cc := r.CrossCheck
	f("## 7. Cross-check against PyTorch\n\n")
	f("%s (`go run ./cmd/study -twin-data DIR` writes the files). The first %d targets of a line are not scored and a data file cannot mark them so: they are spelled `%s`, both trainers count them in the loss, and the accuracies are over the scored targets. qkv trains the study's two models on the files with the study's recipe; PyTorch %s trained its own `nn.Embedding` + `nn.LSTM` + `nn.Linear` and `nn.TransformerEncoder` of the same sizes on the same files with the same recipe (batch 32, Adam β₂ 0.99, warmup 100 and cosine decay to 1e-5, clip 1, the best checkpoint by validation), swept and seeded the same way: `%s`, whose numbers the study reads from `cmd/study/testdata/twin.json` without running Python.\n\n",
		cc.Setting, twinK, twinFiller, cc.Torch, cc.MadeBy)
	f("| model | qkv parameters | qkv rate | PyTorch rate | qkv test accuracy | PyTorch test accuracy | difference |\n|---|---|---|---|---|---|---|\n")
	for _, m := range cc.Models {
		f("| %s | %d | %g | %g | %s%s | %s%s | %+.1f points |\n", m.Model, m.Params, m.QKVLR, m.TorchLR, pct(m.QKV.Median), rng(m.QKV.Seeds), pct(m.Torch.Median), rng(m.Torch.Seeds), 100*(m.QKV.Median-m.Torch.Median))
	}
	f("\n")
	say(claimTwin)

	f("## Learning-rate sweeps\n\nEvery rate tried at seed %d, with its validation score; the cross-check's sweeps stay on PyTorch's grid, as its twins' did.\n\n", r.Seed)
	f("| task | model | validation score by rate | chosen | edge of the grid |\n|---|---|---|---|---|\n")
	for _, t := range r.Tuning {
		var parts []string
		for i, lr := range t.LRs {
			parts = append(parts, fmt.Sprintf("%g: %s", lr, pct(t.Val[i])))
		}
		f("| %s | %s | %s | %g | %s |\n", t.Task, t.Model, strings.Join(parts, ", "), t.Chosen, edgeNote(t))
	}
	f("\n")
	n, still := 0, 0
	for _, t := range r.Tuning {
		if t.Extended != 0 {
			n++
			if t.Edge {
				still++
			}
		}
	}
	if n > 0 {
		f("%d sweeps chose a rate at an edge of their grid and were extended; %d of those chose the new rate, still at the edge of what they tried, so a rate further out might do better there.\n", n, still)
	}
	return b.String()
}

// rates lists learning rates as written: {1e-4, 1e-3, 1e-2}.
func rates(lrs []float64) string {
	parts := make([]string, len(lrs))
	for i, lr := range lrs {
		parts[i] = fmt.Sprintf("%g", lr)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// edgeExamples shows the rule on grid's two edges: "1e-2 → 3e-2 above,
// 1e-4 → 3e-5 below".
func edgeExamples(grid []float64) string {
	if len(grid) < 2 {
		return "none with one rate"
	}
	lo, hi := grid[0], grid[len(grid)-1]
	up, _ := edgeRate(grid, hi)
	down, _ := edgeRate(grid, lo)
	return fmt.Sprintf("%g → %g above, %g → %g below", hi, up, lo, down)
}

// edgeNote says where a sweep's choice stands against its grid's edges.
func edgeNote(t Tuning) string {
	switch {
	case t.Extended != 0 && t.Edge:
		return fmt.Sprintf("extended to %g; still at the edge", t.Extended)
	case t.Extended != 0:
		return fmt.Sprintf("extended to %g", t.Extended)
	case t.Edge:
		return "at the edge, not extended"
	default:
		return ""
	}
}

// quickCuts says what -quick leaves out of the full study, from the two
// scales themselves.
func quickCuts() string {
	q, f := quick, full
	return fmt.Sprintf("**This is `-quick`**, a smaller run of the same experiments and report; the full study is `go run ./cmd/study`. -quick cuts: lag distances %s (full: %s) at %d steps (full: %d); reverse and recall %d steps (%d); running parity %d steps (%d), tested at lengths %s (%s); copy %d steps (%d); %d seeds per final configuration (%d); learning rates not extended beyond the grid's edges (the full study extends them); the cross-check trains one seed at the rate PyTorch's sweep chose (the full study sweeps and seeds it as every task); held-out sets of %d validation and %d test examples (%d and %d), %d probed examples (%d), %d scored for alignment (%d) and %d per length (%d); step times at T = %s, median of %d (T = %s, median of %d). The same command with -quick gives the same numbers; they are not the full study's.",
		ints(q.LagKs), ints(f.LagKs), q.LagSteps, f.LagSteps, q.AttnSteps, f.AttnSteps, q.ParitySteps, f.ParitySteps, ints(q.ParityLens), ints(f.ParityLens),
		q.CopySteps, f.CopySteps, q.Seeds, f.Seeds, q.Val, q.Test, f.Val, f.Test, q.ProbeExamples, f.ProbeExamples,
		q.AttnExamples, f.AttnExamples, q.ParityExample, f.ParityExample, ints(q.TimeTs), q.TimeReps, ints(f.TimeTs), f.TimeReps)
}

// ints lists v as written in prose: "1, 4, 8".
func ints(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}
