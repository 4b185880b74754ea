package train

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// toy is a fourth architecture that exists only in this file: its config,
// its layers written in nn's primitives, and the one registration line
// below. TestToyBackbone trains, checkpoints and resumes it through the
// same code as the three built in, which no other file was changed for.
const toy Arch = "toy"

func init() { registerBackbone(func(*Architecture) backbone { return &toyConfig{} }) }

// toyConfig has no settings of its own: d_model, layers and dropout are
// Architecture's.
type toyConfig struct{}

func (*toyConfig) arch() Arch                                { return toy }
func (*toyConfig) check(*Architecture, bool) []error         { return nil }
func (*toyConfig) resolve(*Architecture)                     {}
func (*toyConfig) bindFlags(*flag.FlagSet)                   {}
func (*toyConfig) sequentialDepth(mc ModelConfig, _ int) int { return mc.Layers }

func (*toyConfig) build(mc ModelConfig, rng *rand.Rand) (*layers.Embedding, Backbone, error) {
	dt := mc.Dtype.Tensor()
	emb, err := layers.NewEmbedding("embed", layers.EmbeddingConfig{Vocab: mc.InVocab, DModel: mc.DModel, Dtype: dt}, rng)
	if err != nil {
		return nil, nil, err
	}
	b := &toyBackbone{d: mc.DModel, dropout: mc.Dropout}
	for k := range mc.Layers {
		w, err := nn.NewParam(fmt.Sprintf("toy.w%d", k), dt, mc.DModel, mc.DModel)
		if err == nil {
			err = nn.XavierUniform(w, rng)
		}
		if err != nil {
			return nil, nil, err
		}
		bias, err := nn.NewParam(fmt.Sprintf("toy.b%d", k), dt, mc.DModel)
		if err != nil {
			return nil, nil, err
		}
		b.w, b.b = append(b.w, w), append(b.b, bias)
	}
	return emb, b, nil
}

// toyBackbone is a stack of residual token-wise layers,
// x ← x + tanh(x·Wᵀ + b) ⊙ keep: no backward code, no fused op.
type toyBackbone struct {
	w, b    []*nn.Param
	d       int
	dropout float64
}

func (t *toyBackbone) Params() []*nn.Param {
	var ps []*nn.Param
	for k := range t.w {
		ps = append(ps, t.w[k], t.b[k])
	}
	return ps
}

func (t *toyBackbone) Width() int { return t.d }

func (t *toyBackbone) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, []*G.Node, error) {
	s := x.Shape()
	keep3, err := nn.Reshape(keep, s[0], s[1], 1) // [B,T,1]
	if err != nil {
		return nil, nil, err
	}
	if x, err = g.Dropout("embed", x, t.dropout); err != nil {
		return nil, nil, err
	}
	for k := range t.w {
		w, err := g.Param(t.w[k])
		if err != nil {
			return nil, nil, err
		}
		b, err := g.Param(t.b[k])
		if err != nil {
			return nil, nil, err
		}
		h, err := nn.MatMul(x, w, false, true) // [B,T,D]
		if err == nil {
			h, err = nn.Plus(h, b)
		}
		if err == nil {
			h, err = nn.Tanh(h)
		}
		if err == nil {
			h, err = nn.Times(h, keep3)
		}
		if err == nil {
			x, err = nn.Plus(x, h)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return x, nil, nil
}

// TestToyBackbone: an architecture registered from a test file alone is a
// model setting like the others, is counted and sized from the model
// built, trains through the same loop (dropout included) and learns,
// checkpoints, and resumed equals its uninterrupted run bit for bit.
func TestToyBackbone(t *testing.T) {
	if !strings.Contains(archNames(), "toy") {
		t.Fatalf("archNames() = %q, want the toy listed", archNames())
	}
	c := tinyConfig(t, "copy")
	c.Model, c.Layers, c.Dropout, c.Dtype = toy, 2, 0.1, Float32
	c.Schedule = "constant" // a cosine schedule stretches with -steps
	c.Steps, c.LogEvery, c.EvalEvery, c.SaveEvery = 40, 4, 10, 20
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if k := c.Architecture.Keys(); !slices.Equal(k, []string{"model", "d_model", "layers", "dropout", "dtype"}) {
		t.Errorf("Keys() = %v", k)
	}
	if arch, ok := ForeignKey(toy, "heads"); !ok || arch != Transformer {
		t.Errorf("ForeignKey(toy, heads) = %v, %v; want transformer, true", arch, ok)
	}

	mc := ModelConfig{Kind: data.Tagging, InVocab: 12, OutVocab: 12, MaxLen: 6, Architecture: c.Architecture}
	m, err := NewModel(mc, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paramCount(mc), int64(m.NumParams()); got != want || want != 12*16+2*(16*16+16)+16*12+12 {
		t.Errorf("paramCount = %d, model has %d", got, want)
	}

	resA := mustRun(t, c)
	if resA.Test.TokenAccuracy <= 0.2 {
		t.Errorf("toy after %d steps: test token accuracy %.3f, want it learning (chance 0.1)", c.Steps, resA.Test.TokenAccuracy)
	}
	cfgB := c
	cfgB.Out = t.TempDir()
	cfgB.Steps = c.Steps / 2
	mustRun(t, cfgB)
	cfgB.Steps = c.Steps
	resB, err := mustResume(t, cfgB.Out, cfgB).Run(context.Background())
	if err != nil {
		t.Fatalf("resumed Run: %v", err)
	}
	compareRuns(t, c.Out, cfgB.Out, c.Steps)
	if resA.Test.Loss != resB.Test.Loss || resA.Best != resB.Best {
		t.Errorf("results differ: %+v vs %+v", resA, resB)
	}
}
