package layers

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// TestAttentionQK: the queries and keys QK returns are the ones Forward
// scores: softmax over the unmasked keys of q_i·k_j/√d_k equals Forward's
// weights, with padding, a causal mask and rotary positions.
func TestAttentionQK(t *testing.T) {
	const b, tt, d, h = 2, 5, 8, 2
	lengths := []int{5, 3}
	for _, tc := range []struct {
		name   string
		mask   Mask
		rotary bool
	}{{"padding", PaddingMaskOnly, false}, {"causal", CausalMaskKind, false}, {"rotary", PaddingMaskOnly, true}, {"causal rotary", CausalMaskKind, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := newRand(5)
			a, err := NewMultiHeadAttention("attn", AttentionConfig{DModel: d, Heads: h, Dtype: tensor.Float64, Mask: tc.mask, Rotary: tc.rotary}, rng)
			if err != nil {
				t.Fatal(err)
			}
			g, err := nn.NewGraph(tensor.Float64, false)
			if err != nil {
				t.Fatal(err)
			}
			x, xv, _ := g.Input("x", b, tt, d)
			vals := make([]float64, b*tt*d)
			for i := range vals {
				vals[i] = rng.NormFloat64()
			}
			nn.FromFloat64s(xv, vals)
			keepVals := make([]float64, b*tt)
			for i, n := range lengths {
				for j := range n {
					keepVals[i*tt+j] = 1
				}
			}
			keep, kv, _ := g.Input("keep", b, tt)
			nn.FromFloat64s(kv, keepVals)
			q, k, err := a.QK(g, x)
			if err != nil {
				t.Fatal(err)
			}
			_, w, err := a.Forward(g, x, keep)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := nn.Compile(g, nil, false, q, k, w)
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			qs, ks, ws := nn.ToFloat64s(prog.Output(0)), nn.ToFloat64s(prog.Output(1)), nn.ToFloat64s(prog.Output(2))
			dk := d / h
			for n := range b {
				for head := range h {
					for i := range lengths[n] {
						keys := lengths[n]
						if tc.mask == CausalMaskKind {
							keys = i + 1
						}
						scores := make([]float64, keys)
						sum := 0.0
						for j := range scores {
							for c := range dk {
								scores[j] += qs[(n*tt+i)*d+head*dk+c] * ks[(n*tt+j)*d+head*dk+c]
							}
							scores[j] = math.Exp(scores[j] / math.Sqrt(float64(dk)))
							sum += scores[j]
						}
						for j := range scores {
							got := ws[((n*h+head)*tt+i)*tt+j]
							if want := scores[j] / sum; math.Abs(got-want) > 1e-12 {
								t.Fatalf("batch %d head %d: weight %d→%d is %v, softmax(q·k/√d_k) from QK gives %v", n, head, i, j, got, want)
							}
						}
					}
				}
			}
		})
	}
}
