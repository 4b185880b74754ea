package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// twinTol is how far a fused op and its composed twin may differ, relative
// to the larger magnitude (or to twinFloor for values near zero), in float64.
const (
	twinTol   = 1e-10
	twinFloor = 1e-6
)

// runTwin builds case c with fused ops or with twins, runs it once and
// returns the output, the loss Σ r⊙y and the gradient of every parameter.
func runTwin(t *testing.T, build func(c *primCtx, o Ops) (*G.Node, error), composed bool) (out []float64, loss float64, grads map[string][]float64) {
	t.Helper()
	g, err := NewGraph(tensor.Float64, true)
	if err != nil {
		t.Fatal(err)
	}
	g.SetComposed(composed)
	rng := newRand(42)
	y, err := build(&primCtx{t: t, g: g, rng: rng}, g.Ops())
	if err != nil {
		t.Fatal(err)
	}
	l := y
	if !y.Shape().IsScalar() {
		if l, err = WeightedSum(g, "r", y, rng); err != nil {
			t.Fatal(err)
		}
	}
	var outs []*G.Node
	if !y.Shape().IsScalar() {
		outs = append(outs, y)
	}
	prog := runOnce(t, g, l, true, outs...)
	if y.Shape().IsScalar() {
		out = []float64{prog.Loss()}
	} else {
		out = ToFloat64s(prog.Output(0))
	}
	grads = map[string][]float64{}
	for i, gr := range prog.Grads() {
		grads[g.Params()[i].Name()] = ToFloat64s(gr)
	}
	return out, prog.Loss(), grads
}

// close reports the worst relative difference between a and b.
func worstDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	w := 0.0
	for i := range a {
		d := math.Abs(a[i]-b[i]) / math.Max(math.Max(math.Abs(a[i]), math.Abs(b[i])), twinFloor)
		if d > w || math.IsNaN(d) {
			w = d
		}
	}
	return w
}

// keepMask returns a [b, t] keep input: row 0 all kept, the last row all
// padded when b > 2, the others right-padded at random lengths.
func (c *primCtx) keepMask(b, t int) *G.Node {
	lens := make([]int, b)
	for i := range lens {
		lens[i] = 1 + c.rng.IntN(t)
	}
	lens[0] = t
	if b > 2 {
		lens[b-1] = 0
	}
	return c.input(func(i int) float64 {
		if i%t < lens[i/t] {
			return 1
		}
		return 0
	}, b, t)
}

// TestTwins checks every fused op against its composed twin: the same
// outputs and the same gradients (≤ 1e-10 relative, float64).
func TestTwins(t *testing.T) {
	type build = func(c *primCtx, o Ops) (*G.Node, error)
	ids := func(c *primCtx, v int, shape ...int) *G.Node {
		return c.input(func(int) float64 { return float64(c.rng.IntN(v)) }, shape...)
	}
	for _, tc := range []struct {
		name  string
		build build
	}{
		{"Linear", func(c *primCtx, o Ops) (*G.Node, error) { return o.Linear(c.x(2, 3, 4), c.x(5, 4), c.x(5)) }},
		{"LinearReLU", func(c *primCtx, o Ops) (*G.Node, error) { return o.LinearReLU(c.x(6, 4), c.x(5, 4), c.x(5)) }},
		{"Add", func(c *primCtx, o Ops) (*G.Node, error) { return o.Add(c.x(2, 3, 4), c.x(2, 3, 4)) }},
		{"AddTrailing", func(c *primCtx, o Ops) (*G.Node, error) { return o.AddTrailing(c.x(2, 3, 4), c.x(3, 4)) }},
		{"ReLU", func(c *primCtx, o Ops) (*G.Node, error) { return o.ReLU(c.x(3, 5)) }},
		{"GELU", func(c *primCtx, o Ops) (*G.Node, error) { return o.GELU(c.x(3, 5)) }},
		{"Embed", func(c *primCtx, o Ops) (*G.Node, error) { return o.Embed(c.x(7, 4), ids(c, 7, 3, 5), 2) }},
		{"MaskedMean", func(c *primCtx, o Ops) (*G.Node, error) { return o.MaskedMean(c.x(3, 4, 2), c.keepMask(3, 4)) }},
		{"HeadScores", func(c *primCtx, o Ops) (*G.Node, error) { return o.HeadScores(c.x(2, 3, 6), c.x(2, 3, 6), 3) }},
		{"HeadMix", func(c *primCtx, o Ops) (*G.Node, error) { return o.HeadMix(c.x(2, 2, 3, 3), c.x(2, 3, 4), false) }},
		{"HeadMix transposed", func(c *primCtx, o Ops) (*G.Node, error) { return o.HeadMix(c.x(2, 2, 3, 3), c.x(2, 3, 4), true) }},
		{"MaskedSoftmax", func(c *primCtx, o Ops) (*G.Node, error) {
			return o.MaskedSoftmax(c.x(3, 2, 4, 4), c.keepMask(3, 4), 0.7)
		}},
		{"LayerNorm", func(c *primCtx, o Ops) (*G.Node, error) { return o.LayerNorm(c.x(2, 3, 5), c.x(5), c.x(5), 1e-5) }},
		{"CrossEntropy", func(c *primCtx, o Ops) (*G.Node, error) {
			tg := c.input(func(i int) float64 { // rows 2 and 5 ignored
				if i%3 == 2 {
					return IgnoreTarget
				}
				return float64(c.rng.IntN(4))
			}, 6)
			return o.CrossEntropy(c.x(6, 4), tg)
		}},
		{"CrossEntropy nothing counted", func(c *primCtx, o Ops) (*G.Node, error) {
			return o.CrossEntropy(c.x(2, 4), c.input(func(int) float64 { return -1 }, 2))
		}},
		{"LSTMScan", func(c *primCtx, o Ops) (*G.Node, error) {
			gx, whh, bhh, keep := c.x(3, 4, 8), c.x(8, 2), c.x(8), c.keepMask(3, 4)
			if o.Composed() {
				return lstmScanTwin(gx, whh, bhh, keep, false)
			}
			return lstmScan(gx, whh, bhh, keep, false)
		}},
		{"LSTMScan reverse", func(c *primCtx, o Ops) (*G.Node, error) {
			gx, whh, bhh, keep := c.x(3, 4, 8), c.x(8, 2), c.x(8), c.keepMask(3, 4)
			if o.Composed() {
				return lstmScanTwin(gx, whh, bhh, keep, true)
			}
			return lstmScan(gx, whh, bhh, keep, true)
		}},
		{"LSTMHidden", func(c *primCtx, o Ops) (*G.Node, error) {
			z, keep := c.x(3, 4, 12), c.keepMask(3, 4)
			if o.Composed() {
				return lstmHiddenTwin(z, keep)
			}
			return lstmHidden(z, keep)
		}},
		{"LSTM", func(c *primCtx, o Ops) (*G.Node, error) {
			return o.LSTM(c.x(3, 4, 3), c.x(8, 3), c.x(8, 2), c.x(8), c.x(8), c.keepMask(3, 4), true)
		}},
		{"ScaledDotProductAttention", func(c *primCtx, o Ops) (*G.Node, error) {
			out, _, err := ScaledDotProductAttention(c.g, "a", c.x(3, 4, 6), c.x(3, 4, 6), c.x(3, 4, 6), c.keepMask(3, 4), 2, 0)
			return out, err
		}},
	} {
		fo, fl, fg := runTwin(t, tc.build, false)
		co, cl, cg := runTwin(t, tc.build, true)
		if d := worstDiff(fo, co); !(d <= twinTol) {
			t.Errorf("%s: outputs differ by %.3g relative\nfused    %v\ncomposed %v", tc.name, d, fo, co)
		}
		if d := worstDiff([]float64{fl}, []float64{cl}); !(d <= twinTol) {
			t.Errorf("%s: loss %v fused, %v composed", tc.name, fl, cl)
		}
		if len(fg) != len(cg) || len(fg) == 0 {
			t.Errorf("%s: %d gradients fused, %d composed", tc.name, len(fg), len(cg))
		}
		for name, g := range fg {
			if d := worstDiff(g, cg[name]); !(d <= twinTol) {
				t.Errorf("%s: gradient of %s differs by %.3g relative\nfused    %v\ncomposed %v", tc.name, name, d, g, cg[name])
			}
		}
	}
}
