package layers

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// TestPrimsLayerGradients checks the layers written in primitives by
// float64 finite differences of Σ r⊙y: GRU (two layers, dropout between
// them), Attend with each mask and queries and keys of different lengths,
// Rotary, and self-attention with a causal mask and rotary positions.
func TestPrimsLayerGradients(t *testing.T) {
	f64 := tensor.Float64
	weighted := func(g *nn.Graph, y *G.Node) (*G.Node, error) { return nn.WeightedSum(g, "r", y, newRand(42)) }
	param := func(g *nn.Graph, p *nn.Param) *G.Node {
		n, err := g.Param(p)
		if err != nil {
			panic(err) // a test bug: each parameter is bound once, under a unique name
		}
		return n
	}
	t.Run("GRU", func(t *testing.T) {
		rng := newRand(1)
		l, err := NewGRU("gru", GRUConfig{Input: 3, Hidden: 4, Layers: 2, Dropout: 0.3, Dtype: f64}, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := input(t, rng, gB, gT, 3)
		gradCheck(t, func(g *nn.Graph) (*G.Node, error) {
			keep, err := feed(g, "keep", keepMask, gB, gT)
			if err != nil {
				return nil, err
			}
			y, err := l.Forward(g, param(g, x), keep)
			if err != nil {
				return nil, err
			}
			return weighted(g, y)
		}, func(g *nn.Graph) { g.SampleDropout(newRand(9)) })
	})
	for _, m := range []struct {
		name            string
		padding, causal bool
	}{{"Attend/none", false, false}, {"Attend/padding", true, false}, {"Attend/causal", false, true}, {"Attend/both", true, true}} {
		t.Run(m.name, func(t *testing.T) {
			rng := newRand(2)
			const tq, tk = 3, 4
			q, k, v := named(t, input(t, rng, gB, tq, gD), "q"), named(t, input(t, rng, gB, tk, gD), "k"), named(t, input(t, rng, gB, tk, gD), "v")
			gradCheck(t, func(g *nn.Graph) (*G.Node, error) {
				var mask *G.Node
				if m.padding {
					keep, err := feed(g, "keep", keepMask, gB, tk)
					if err != nil {
						return nil, err
					}
					if mask, err = PaddingMask(keep); err != nil {
						return nil, err
					}
				}
				if m.causal {
					c, err := CausalMask(g, "causal", tq, tk)
					if err != nil {
						return nil, err
					}
					if mask == nil {
						mask = c
					} else if mask, err = nn.Times(mask, c); err != nil {
						return nil, err
					}
				}
				out, _, err := Attend(g, "attend", param(g, q), param(g, k), param(g, v), mask, gH, 0.2)
				if err != nil {
					return nil, err
				}
				return weighted(g, out)
			}, func(g *nn.Graph) { g.SampleDropout(newRand(9)) })
		})
	}
	t.Run("Rotary", func(t *testing.T) {
		x := input(t, newRand(3), gB, 5, gD)
		gradCheck(t, func(g *nn.Graph) (*G.Node, error) {
			y, err := Rotary(g, "rot", param(g, x), gH, RotaryBase)
			if err != nil {
				return nil, err
			}
			return weighted(g, y)
		}, nil)
	})
	t.Run("MultiHeadAttention/causal rotary", func(t *testing.T) {
		rng := newRand(4)
		a, err := NewMultiHeadAttention("attn", AttentionConfig{DModel: gD, Heads: gH, Dtype: f64, Mask: CausalMaskKind, Rotary: true}, rng)
		if err != nil {
			t.Fatal(err)
		}
		perturb(t, a, rng)
		x := input(t, rng, gB, gT, gD)
		gradCheck(t, func(g *nn.Graph) (*G.Node, error) {
			keep, err := feed(g, "keep", keepMask, gB, gT)
			if err != nil {
				return nil, err
			}
			y, _, err := a.Forward(g, param(g, x), keep)
			if err != nil {
				return nil, err
			}
			return weighted(g, y)
		}, nil)
	})
}

// named returns a copy of p under another name.
func named(t *testing.T, p *nn.Param, name string) *nn.Param {
	t.Helper()
	q, err := nn.NewParam(name, p.Dtype(), p.Shape()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.SetFloat64s(p.Float64s()); err != nil {
		t.Fatal(err)
	}
	return q
}
