package layers_test

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// The layers written in primitives against PyTorch: scripts/prims_fixtures.py.

func buildGRU(t *testing.T, f *fixture, g *nn.Graph, rng *rand.Rand) built {
	c := f.Config
	l, err := layers.NewGRU("gru", layers.GRUConfig{Input: c.Input, Hidden: c.Hidden, Layers: c.Layers, Dtype: g.Dtype()}, rng)
	if err != nil {
		t.Fatal(err)
	}
	f.load(t, l)
	y, err := l.Forward(g, f.inputParam(t, g, "x"), f.input(t, g, "keep"))
	if err != nil {
		t.Fatal(err)
	}
	return built{l, f.weightedSum(t, g, y), map[string]*G.Node{"y": y}}
}

// fixtureMask builds the mask value a fixture asks for: padding (keys
// masked by keep [B,Tk]) and/or causal, or nil.
func fixtureMask(t *testing.T, f *fixture, g *nn.Graph, tq, tk int) *G.Node {
	t.Helper()
	var mask *G.Node
	if f.Config.Padding {
		var err error
		if mask, err = layers.PaddingMask(f.input(t, g, "keep")); err != nil {
			t.Fatal(err)
		}
	}
	if f.Config.Causal {
		c, err := layers.CausalMask(g, "causal", tq, tk)
		if err != nil {
			t.Fatal(err)
		}
		if mask == nil {
			return c
		}
		if mask, err = nn.Times(mask, c); err != nil {
			t.Fatal(err)
		}
	}
	return mask
}

func buildAttend(t *testing.T, f *fixture, g *nn.Graph, _ *rand.Rand) built {
	q, k, v := f.inputParam(t, g, "q"), f.inputParam(t, g, "k"), f.inputParam(t, g, "v")
	mask := fixtureMask(t, f, g, q.Shape()[1], k.Shape()[1])
	out, w, err := layers.Attend(g, "attend", q, k, v, mask, f.Config.Heads, 0)
	if err != nil {
		t.Fatal(err)
	}
	return built{nil, f.weightedSum(t, g, out), map[string]*G.Node{"out": out, "weights": w}}
}

func buildRotary(t *testing.T, f *fixture, g *nn.Graph, _ *rand.Rand) built {
	y, err := layers.Rotary(g, "rotary", f.inputParam(t, g, "x"), f.Config.Heads, f.Config.RotaryBase)
	if err != nil {
		t.Fatal(err)
	}
	return built{nil, f.weightedSum(t, g, y), map[string]*G.Node{"y": y}}
}

func buildCausalRotaryAttention(t *testing.T, f *fixture, g *nn.Graph, rng *rand.Rand) built {
	if !f.Config.Causal || f.Config.RotaryBase != layers.RotaryBase {
		t.Fatalf("%s: want a causal mask and rotary base %d", f.Name, layers.RotaryBase)
	}
	cfg := layers.AttentionConfig{DModel: f.Config.DModel, Heads: f.Config.Heads, Dtype: g.Dtype(), Mask: layers.CausalMaskKind, Rotary: true}
	a, err := layers.NewMultiHeadAttention("attn", cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	f.load(t, a)
	y, w, err := a.Forward(g, f.inputParam(t, g, "x"), f.input(t, g, "keep"))
	if err != nil {
		t.Fatal(err)
	}
	return built{a, f.weightedSum(t, g, y), map[string]*G.Node{"y": y, "weights": w}}
}

// TestPrimsParity: GRU against torch.nn.GRU; Attend with a padding mask, a
// causal one and both, queries and keys of different lengths; rotary
// positions; and self-attention with a causal mask and rotary positions.
func TestPrimsParity(t *testing.T) {
	runParity(t, map[string]func(*testing.T, *fixture, *nn.Graph, *rand.Rand) built{
		"gru":       buildGRU,
		"attend":    buildAttend,
		"rotary":    buildRotary,
		"attention": buildCausalRotaryAttention,
	}, []string{"gru", "attend_padding", "attend_causal", "attend_both", "rotary", "attention_causal_rotary"})
}
