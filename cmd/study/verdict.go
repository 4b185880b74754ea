package main

import (
	"fmt"
	"math"
	"strings"
)

// The claims, in the essay's order, then the checks the study adds.
const (
	claimLongRange = "Attention links distant positions directly, whatever their distance"
	claimGradients = "Attention avoids the vanishing gradients of back-propagation through time"
	claimParallel  = "Attention computes all positions in parallel"
	claimReadable  = "Attention exposes weights a person can read"
	claimControl   = "Negative control: recurrence does better where the task is a running state"
	claimLength    = "Attention handles sequences longer than those it was trained on"
	claimTwin      = "Cross-check: qkv's models train as PyTorch's twins do"
)

// Verdict words.
const (
	holds    = "holds"
	partly   = "partly"
	notShown = "not shown"
	notHolds = "does not hold"
)

// The thresholds of the rules below, each a difference a reader would
// call real at the study's test-set sizes (hundreds of examples: one
// point is a few targets).
const (
	keptAccuracy = 0.95 // "keeps its accuracy": at least this at every distance
	clearGap     = 0.05 // one model ahead of the other: by more than 5 points
	gradFactor   = 3    // far-to-near gradient ratio: the transformer's at least 3× the LSTM's…
	gradFloor    = 0.1  // …and itself within an order of magnitude of near
	readableMass = 0.5  // a head that shows the lookup puts half its weight on the source…
	readableOver = 3    // …and three times chance
	controlGap   = 0.02 // running parity: the recurrent model ahead by more than 2 points
	twinGap      = 0.05 // qkv within 5 points of PyTorch (issue 14)
)

// longRangeVerdict judges claim 1 from median token accuracies: the worst
// over k of each model and both at the longest k.
func longRangeVerdict(tWorst, lWorst, tLast, lLast float64) string {
	switch {
	case tWorst >= keptAccuracy && lWorst < tWorst-clearGap:
		return holds
	case tWorst >= keptAccuracy:
		return notShown // both keep it: distance does not hurt the LSTM either
	case tLast > lLast+clearGap:
		return partly
	default:
		return notHolds
	}
}

// gradientVerdict judges claim 2 from the far-to-near ratios of the
// gradient norms at initialisation.
func gradientVerdict(tInit, lInit float64) string {
	switch {
	case tInit > gradFactor*lInit && tInit > gradFloor:
		return holds
	case tInit > lInit:
		return partly
	default:
		return notHolds
	}
}

// timing is one model's time per step at one length: the median and the
// fastest and slowest of the timed steps, in milliseconds.
type timing struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// parallelVerdict judges claim 3 from the shortest and longest lengths'
// timings and sequential depths. The transformer is faster only when its
// slowest timed step beats the LSTM's fastest, and grows more slowly only
// when its growth is below the LSTM's by more than the spread of either
// timing allows, so that two runs on one machine do not disagree; the
// depth alone, which does not depend on the machine, gives "partly".
func parallelVerdict(tShort, tLong, lShort, lLong timing, tDepth, lDepth int) string {
	faster := tLong.Max < lLong.Min
	// The largest growth the transformer's timings allow, against the
	// smallest the LSTM's allow.
	tGrowHi, lGrowLo := tLong.Max/tShort.Min, lLong.Min/lShort.Max
	switch {
	case faster && tGrowHi < lGrowLo:
		return holds
	case tDepth < lDepth:
		return partly
	default:
		return notHolds
	}
}

// readableVerdict judges claim 4 from each task's best head and chance.
func readableVerdict(best, chance []float64) string {
	for i := range best {
		if best[i] < readableMass || best[i] < readableOver*chance[i] {
			return partly
		}
	}
	return holds
}

// lengthVerdict judges the length claim from median token accuracies past
// the trained lengths, one pair per task: the transformer clearly ahead on
// most tasks holds it, clearly behind on most refutes it.
func lengthVerdict(t, l []float64) string {
	ahead, behind := 0, 0
	for i := range t {
		switch {
		case t[i] > l[i]+clearGap:
			ahead++
		case l[i] > t[i]+clearGap:
			behind++
		}
	}
	switch {
	case 2*ahead > len(t):
		return holds
	case 2*behind > len(t):
		return notHolds
	default:
		return partly
	}
}

// controlVerdict judges the negative control from median token accuracies
// at the trained lengths and at the longest length tested.
func controlVerdict(tTest, lTest, tLong, lLong float64) string {
	if lTest > tTest+controlGap || lLong > tLong+controlGap {
		return holds
	}
	return notHolds
}

// twinVerdict judges the cross-check: qkv's median within twinGap of
// PyTorch's for every model compared.
func twinVerdict(qkv, torch []float64) string {
	if len(qkv) == 0 {
		return notShown
	}
	for i := range qkv {
		if math.Abs(qkv[i]-torch[i]) > twinGap {
			return notHolds
		}
	}
	return holds
}

// verdicts judges each claim from the numbers by the rules above and
// writes the evidence the rule read.
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
	ev := fmt.Sprintf("Medians over seeds. lag%d (the longest distance): transformer %s, LSTM %s; worst over k: transformer %s (k=%d), LSTM %s (k=%d).",
		last.K, pct(last.Token.Transformer), pct(last.Token.LSTM), pct(tMin), tAt, pct(lMin), lAt)
	v := longRangeVerdict(tMin, lMin, last.Token.Transformer, last.Token.LSTM)
	switch v {
	case notShown:
		ev += fmt.Sprintf(" Both models reach ≥ %.0f%% at every distance tried: at these lengths distance does not hurt the LSTM either.", 100*keptAccuracy)
	case partly:
		ev += fmt.Sprintf(" The transformer is ahead by more than %.0f points at the longest distance but does not reach %.0f%% everywhere.", 100*clearGap, 100*keptAccuracy)
	case notHolds:
		ev += " The transformer does not keep its accuracy as k grows, at this budget of steps, and is not clearly ahead at the longest distance."
	}
	out = append(out, Verdict{claimLongRange, v, ev})

	// 2. Gradients: the far-to-near ratio of the gradient norms.
	ratio := map[string]float64{}
	for _, c := range r.Gradients.Curves {
		ratio[c.Model+"/"+c.Stage] = c.FarToNear
	}
	ev = fmt.Sprintf("Mean ‖∂L_j/∂x_i‖ at |j−i| ≥ %d over |j−i| ≤ 1 on %s (T=%d): at initialisation transformer %.3g, LSTM %.3g; after training transformer %.3g, LSTM %.3g.",
		(r.Gradients.Length+1)/2, r.Gradients.Task, r.Gradients.Length, ratio["transformer/init"], ratio["lstm/init"], ratio["transformer/trained"], ratio["lstm/trained"])
	v = gradientVerdict(ratio["transformer/init"], ratio["lstm/init"])
	switch v {
	case holds:
		ev += fmt.Sprintf(" At initialisation the LSTM's gradient fades with distance while the transformer's is over %d× the LSTM's ratio and above %.1f.", gradFactor, gradFloor)
	case partly:
		ev += fmt.Sprintf(" The transformer's gradient fades less with distance, but by less than a factor of %d over the LSTM's, or fades itself.", gradFactor)
	}
	if lt, tt := ratio["lstm/trained"], ratio["transformer/trained"]; lt >= tt {
		ev += fmt.Sprintf(" After training the LSTM's far-to-near ratio is %.3g, the transformer's %.3g: training moved the LSTM's gradient out to distant positions, so the fading is a property of recurrence at initialisation rather than a fixed limit — though a large gradient is not a solved task (see experiment 1).", lt, tt)
	}
	out = append(out, Verdict{claimGradients, v, ev})

	// 3. Parallelism: depth by construction; wall time as measured.
	pr := r.Parallelism.Points
	a, b := pr[0], pr[len(pr)-1]
	ev = fmt.Sprintf("Sequential depth from T=%d to T=%d: transformer %d → %d, LSTM %d → %d. Time per step, median (fastest–slowest) of %d timed steps on %s, load average %.1f → %.1f: transformer %.1f (%.1f–%.1f) → %.1f (%.1f–%.1f) ms, LSTM %.1f (%.1f–%.1f) → %.1f (%.1f–%.1f) ms.",
		a.T, b.T, a.TransformerDepth, b.TransformerDepth, a.LSTMDepth, b.LSTMDepth, r.Parallelism.Reps, r.Machine, r.Load[0], r.Load[1],
		a.Transformer.Median, a.Transformer.Min, a.Transformer.Max, b.Transformer.Median, b.Transformer.Min, b.Transformer.Max,
		a.LSTM.Median, a.LSTM.Min, a.LSTM.Max, b.LSTM.Median, b.LSTM.Min, b.LSTM.Max)
	v = parallelVerdict(a.Transformer, b.Transformer, a.LSTM, b.LSTM, b.TransformerDepth, b.LSTMDepth)
	switch v {
	case holds:
		ev += " At the longest length the transformer's slowest step beats the LSTM's fastest, and its time grows more slowly even at the ends of both spreads."
	case partly:
		ev += fmt.Sprintf(" The depth holds by construction, but on %d cores the wall time does not follow it beyond the spread of the timings: both models' steps are bound by arithmetic, which grows with T (and T² for attention), not by the chain of dependent steps.", r.Cores)
	}
	out = append(out, Verdict{claimParallel, v, ev})

	// 4. Readable weights: best head against chance.
	var parts []string
	var best, chance []float64
	for _, in := range r.Interpretability {
		parts = append(parts, fmt.Sprintf("%s: best head (layer %d, head %d) puts %.2f of its weight on the source (chance %.2f), sequence accuracy %s; gradient saliency scores %.2f (transformer) and %.2f (LSTM)",
			in.Task, in.BestLayer, in.BestHead, in.Best, in.Chance, pct(in.Sequence.Transformer), in.Saliency.Transformer, in.Saliency.LSTM))
		best, chance = append(best, in.Best), append(chance, in.Chance)
	}
	ev = strings.Join(parts, "; ") + ". The LSTM has no weights to read; its gradient saliency (experiment 2's probe, rows normalised) is the nearest analogue and needs a backward pass per position."
	v = readableVerdict(best, chance)
	if v == partly {
		ev += fmt.Sprintf(" On at least one task no head reaches %.1f and %d× chance: the weights are there to read, but they do not show the lookup.", readableMass, readableOver)
	}
	out = append(out, Verdict{claimReadable, v, ev})

	// 5. Negative control.
	nc := r.NegativeControl
	longest := nc.Points[len(nc.Points)-1]
	ev = fmt.Sprintf("Running parity, trained on lengths %d–%d, median over seeds: held-out token accuracy transformer %s, LSTM %s; at length %d transformer %s, LSTM %s.",
		nc.TrainMinLen, nc.TrainMaxLen, pct(nc.Test.Transformer), pct(nc.Test.LSTM), longest.Len, pct(longest.Token.Transformer), pct(longest.Token.LSTM))
	v = controlVerdict(nc.Test.Transformer, nc.Test.LSTM, longest.Token.Transformer, longest.Token.LSTM)
	if v == holds {
		ev += " The recurrent model does better, as the theory predicts (Hahn, 2020; Bhattamishra et al., 2020; Delétang et al., 2023)."
	} else {
		ev += fmt.Sprintf(" The transformer is not behind by more than %.0f points on this task at this budget.", 100*controlGap)
	}
	out = append(out, Verdict{claimControl, v, ev})

	// 6. Length generalisation.
	var tl, ll []float64
	parts = nil
	for _, g := range r.Length {
		p := g.Points[len(g.Points)-1]
		tl, ll = append(tl, p.Token.Transformer), append(ll, p.Token.LSTM)
		parts = append(parts, fmt.Sprintf("%s trained on lengths up to %d, at length %d: transformer %s, LSTM %s", g.Task, g.TrainMaxLen, p.Len, pct(p.Token.Transformer), pct(p.Token.LSTM)))
	}
	ev = "Median token accuracy over seeds. " + strings.Join(parts, "; ") + "."
	v = lengthVerdict(tl, ll)
	switch v {
	case holds:
		ev += fmt.Sprintf(" The transformer is ahead by more than %.0f points on most of these tasks.", 100*clearGap)
	case notHolds:
		ev += fmt.Sprintf(" The LSTM is ahead by more than %.0f points on most of these tasks: past the trained lengths the transformer's positions are ones it never saw.", 100*clearGap)
	default:
		ev += fmt.Sprintf(" Neither model is ahead by more than %.0f points on most of these tasks.", 100*clearGap)
	}
	out = append(out, Verdict{claimLength, v, ev})

	// 7. The PyTorch cross-check.
	var qs, ts []float64
	parts = nil
	for _, c := range r.CrossCheck.Models {
		qs, ts = append(qs, c.QKV.Median), append(ts, c.Torch.Median)
		parts = append(parts, fmt.Sprintf("%s: qkv %s, PyTorch %s (%+.1f points)", c.Model, pct(c.QKV.Median), pct(c.Torch.Median), 100*(c.QKV.Median-c.Torch.Median)))
	}
	ev = fmt.Sprintf("%s, median test accuracy over seeds on the scored targets: ", r.CrossCheck.Setting) + strings.Join(parts, "; ") + "."
	v = twinVerdict(qs, ts)
	if v == notHolds {
		ev += fmt.Sprintf(" At least one model is more than %.0f points from its twin.", 100*twinGap)
	}
	out = append(out, Verdict{claimTwin, v, ev})
	return out
}
