package train

import (
	"math"
	"testing"
)

// TestInitPerArchitecture: the LSTM is initialised as PyTorch initialises
// nn.Embedding (N(0, 1)), nn.LSTM (U(−1/√H, 1/√H)) and nn.Linear
// (U(−1/√fan_in, 1/√fan_in), bias included); the transformer keeps its
// N(0, 1/d) embedding and zero head bias (issue 14).
func TestInitPerArchitecture(t *testing.T) {
	c := Default()
	c.Dtype = Float64
	c.DModel = 96
	tm, err := NewTaskModel(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Model, c.Directions, c.Layers = LSTM, 1, 1
	lm, err := NewTaskModel(c)
	if err != nil {
		t.Fatal(err)
	}
	rms := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x * x
		}
		return math.Sqrt(s / float64(len(xs)))
	}
	maxAbs := func(xs []float64) float64 {
		m := 0.0
		for _, x := range xs {
			m = max(m, math.Abs(x))
		}
		return m
	}
	const d = 96
	// ~1,500 draws each: the sample std is within 10% of the truth.
	if got := rms(lm.Embed.Table.Float64s()); math.Abs(got-1) > 0.1 {
		t.Errorf("LSTM embedding std %.3f, want nn.Embedding's 1", got)
	}
	if got, want := rms(tm.Embed.Table.Float64s()), 1/math.Sqrt(d); math.Abs(got/want-1) > 0.1 {
		t.Errorf("transformer embedding std %.4f, want %.4f", got, want)
	}
	bound := 1 / math.Sqrt(d) // the LSTM's H and its head's fan_in are both 96
	for _, p := range append(lm.Backbone.Params(), lm.Head.Params()...) {
		if m := maxAbs(p.Float64s()); m > bound || m < 0.5*bound {
			t.Errorf("%s: max |x| %.4f, want U(−%.4f, %.4f)", p.Name(), m, bound, bound)
		}
	}
	if m := maxAbs(tm.Head.Bias.Float64s()); m != 0 {
		t.Errorf("transformer head bias max |b| %v, want 0", m)
	}
}
