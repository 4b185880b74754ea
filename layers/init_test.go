package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// stdOf is the root mean square of xs, the standard deviation of a
// zero-mean draw.
func stdOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x * x
	}
	return math.Sqrt(s / float64(len(xs)))
}

// TestEmbeddingStd: Std 0 draws the transformer's N(0, 1/D), Std 1
// torch.nn.Embedding's N(0, 1); a negative or infinite Std is refused.
func TestEmbeddingStd(t *testing.T) {
	const v, d = 40, 100 // 4000 draws: the sample std is within 5% of the truth
	for _, c := range []struct{ std, want float64 }{{0, 1 / math.Sqrt(d)}, {1, 1}, {0.5, 0.5}} {
		e, err := NewEmbedding("e", EmbeddingConfig{Vocab: v, DModel: d, Std: c.std, Dtype: tensor.Float64}, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if got := stdOf(e.Table.Float64s()); math.Abs(got/c.want-1) > 0.05 {
			t.Errorf("Std %v: sample std %.4f, want %.4f", c.std, got, c.want)
		}
	}
	for _, bad := range []float64{-1, math.Inf(1), math.NaN()} {
		if _, err := NewEmbedding("e", EmbeddingConfig{Vocab: v, DModel: d, Std: bad, Dtype: tensor.Float64}, rand.New(rand.NewPCG(1, 2))); err == nil {
			t.Errorf("Std %v accepted", bad)
		}
	}
}

// TestLinearTorchInit: with TorchInit, weight and bias are drawn from
// U(−1/√In, 1/√In) as torch.nn.Linear's are (the bias is not zero, and the
// weight fills that range, which is narrower than Xavier's here); without
// it, Xavier-uniform weights and a zero bias.
func TestLinearTorchInit(t *testing.T) {
	const in, out = 96, 11
	bound := 1 / math.Sqrt(in)
	xavier := math.Sqrt(6.0 / (in + out))
	for _, torch := range []bool{false, true} {
		l, err := NewLinear("l", LinearConfig{In: in, Out: out, Dtype: tensor.Float64, TorchInit: torch}, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		w, b := l.Weight.Float64s(), l.Bias.Float64s()
		wMax, bMax := maxAbs(w), maxAbs(b)
		if torch {
			if wMax > bound || wMax < 0.95*bound || bMax > bound || bMax < 0.5*bound {
				t.Errorf("TorchInit: max |w| %.4f, max |b| %.4f; want both in U(−%.4f, %.4f), filling it", wMax, bMax, bound, bound)
			}
		} else if wMax > xavier || wMax < 0.95*xavier || bMax != 0 {
			t.Errorf("default: max |w| %.4f (want Xavier's %.4f), max |b| %v (want 0)", wMax, xavier, bMax)
		}
	}
}

func maxAbs(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}
