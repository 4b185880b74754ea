package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// Finite-difference settings: float64 central differences, step fdStep;
// gradients below fdFloor are compared absolutely.
const (
	fdStep  = 1e-3
	fdFloor = 1e-4
	fdTol   = 1e-6
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

const (
	gB, gT, gD, gH, gF, gV = 2, 4, 8, 2, 12, 7
)

// keepMask pads the last two positions of the second sequence.
var keepMask = []float64{1, 1, 1, 1, 1, 1, 0, 0}

// input makes a float64 parameter holding random input activations, so the
// check covers the gradient with respect to the input too.
func input(t *testing.T, rng *rand.Rand, shape ...int) *nn.Param {
	t.Helper()
	p, err := nn.NewParam("x", tensor.Float64, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Normal(1)(p, rng); err != nil {
		t.Fatal(err)
	}
	return p
}

func feed(g *nn.Graph, name string, vals []float64, shape ...int) (*G.Node, error) {
	n, v, err := g.Input(name, shape...)
	if err != nil {
		return nil, err
	}
	nn.FromFloat64s(v, vals)
	return n, nil
}

// perturb moves every parameter of m away from its initial value, so that
// zero biases and unit gains cannot hide a wrong gradient.
func perturb(t *testing.T, m nn.Module, rng *rand.Rand) {
	t.Helper()
	for _, p := range m.Params() {
		v := p.Float64s()
		for i := range v {
			v[i] += 0.3 * rng.NormFloat64()
		}
		if err := p.SetFloat64s(v); err != nil {
			t.Fatal(err)
		}
	}
}

func gradCheck(t *testing.T, build func(g *nn.Graph) (*G.Node, error), prepare func(g *nn.Graph)) {
	t.Helper()
	res, err := nn.GradCheck(build, prepare, fdStep, fdFloor)
	if err != nil {
		t.Fatal(err)
	}
	if !(res.RelErr <= fdTol) {
		t.Errorf("worst element %v exceeds %g", res, fdTol)
	} else {
		t.Logf("worst element %v", res)
	}
}

func layerConfig(normFirst bool, act Activation, dropout float64) EncoderLayerConfig {
	norm := PostNorm
	if normFirst {
		norm = PreNorm
	}
	return EncoderLayerConfig{DModel: gD, Heads: gH, DFF: gF, Activation: act, Dropout: dropout, Norm: norm, Dtype: tensor.Float64}
}

func TestLayerGradients(t *testing.T) {
	f64 := tensor.Float64
	// seqLayer checks a layer over a padded [B,T,D] input; fwd returns the
	// outputs whose weighted sums make the loss.
	seqLayers := func(t *testing.T, rng *rand.Rand, m nn.Module, fwd func(g *nn.Graph, x, keep *G.Node) ([]*G.Node, error)) func(g *nn.Graph) (*G.Node, error) {
		perturb(t, m, rng)
		x := input(t, rng, gB, gT, gD)
		return func(g *nn.Graph) (*G.Node, error) {
			xn, err := g.Param(x)
			if err != nil {
				return nil, err
			}
			keep, err := feed(g, "keep", keepMask, gB, gT)
			if err != nil {
				return nil, err
			}
			ys, err := fwd(g, xn, keep)
			if err != nil {
				return nil, err
			}
			var loss *G.Node
			for i, y := range ys {
				l, err := nn.WeightedSum(g, fmt.Sprint("r", i), y, newRand(42+uint64(i)))
				if err != nil {
					return nil, err
				}
				if loss == nil {
					loss = l
				} else if loss, err = G.Add(loss, l); err != nil {
					return nil, err
				}
			}
			return loss, nil
		}
	}
	seqLayer := func(t *testing.T, rng *rand.Rand, m nn.Module, fwd func(g *nn.Graph, x, keep *G.Node) (*G.Node, error)) func(g *nn.Graph) (*G.Node, error) {
		return seqLayers(t, rng, m, func(g *nn.Graph, x, keep *G.Node) ([]*G.Node, error) {
			y, err := fwd(g, x, keep)
			return []*G.Node{y}, err
		})
	}
	tests := []struct {
		name    string
		dropout bool
		build   func(t *testing.T, rng *rand.Rand) func(g *nn.Graph) (*G.Node, error)
	}{
		{name: "Linear", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			l, err := NewLinear("lin", LinearConfig{In: gD, Out: 5, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, l, func(g *nn.Graph, x, _ *G.Node) (*G.Node, error) { return l.Forward(g, x) })
		}},
		{name: "LayerNorm", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			l, err := NewLayerNorm("ln", LayerNormConfig{D: gD, Eps: DefaultEps, Dtype: f64})
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, l, func(g *nn.Graph, x, _ *G.Node) (*G.Node, error) { return l.Forward(g, x) })
		}},
		{name: "Embedding", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			e, err := NewEmbedding("embed", EmbeddingConfig{Vocab: gV, DModel: gD, Scale: true, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return func(g *nn.Graph) (*G.Node, error) {
				ids, err := feed(g, "ids", []float64{1, 2, 3, 2, 6, 0, 0, 0}, gB, gT)
				if err != nil {
					return nil, err
				}
				y, err := e.Forward(g, ids)
				if err != nil {
					return nil, err
				}
				return nn.WeightedSum(g, "r", y, newRand(42))
			}
		}},
		{name: "PositionalSinusoidal", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			p, err := NewPositionalEncoding("pos", PositionalConfig{Kind: Sinusoidal, DModel: gD, MaxLen: 0, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, p, func(g *nn.Graph, x, _ *G.Node) (*G.Node, error) { return p.Forward(g, x) })
		}},
		{name: "PositionalLearned", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			p, err := NewPositionalEncoding("pos", PositionalConfig{Kind: Learned, DModel: gD, MaxLen: gT + 3, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, p, func(g *nn.Graph, x, _ *G.Node) (*G.Node, error) { return p.Forward(g, x) })
		}},
		{name: "MultiHeadAttentionPadded", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			a, err := NewMultiHeadAttention("attn", AttentionConfig{DModel: gD, Heads: gH, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, a, func(g *nn.Graph, x, keep *G.Node) (*G.Node, error) {
				y, _, err := a.Forward(g, x, keep)
				return y, err
			})
		}},
		{name: "AttentionOutputAndWeights", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			a, err := NewMultiHeadAttention("attn", AttentionConfig{DModel: gD, Heads: gH, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayers(t, rng, a, func(g *nn.Graph, x, keep *G.Node) ([]*G.Node, error) {
				y, w, err := a.Forward(g, x, keep)
				return []*G.Node{y, w}, err
			})
		}},
		{name: "FeedForwardReLU", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			f, err := NewFeedForward("ff", FeedForwardConfig{DModel: gD, DFF: gF, Activation: ReLU, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, f, func(g *nn.Graph, x, _ *G.Node) (*G.Node, error) { return f.Forward(g, x) })
		}},
		{name: "FeedForwardGELU", build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
			f, err := NewFeedForward("ff", FeedForwardConfig{DModel: gD, DFF: gF, Activation: GELU, Dtype: f64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			return seqLayer(t, rng, f, func(g *nn.Graph, x, _ *G.Node) (*G.Node, error) { return f.Forward(g, x) })
		}},
	}
	for _, norm := range []struct {
		name      string
		normFirst bool
	}{{"PostNorm", false}, {"PreNorm", true}} {
		for _, act := range []Activation{ReLU, GELU} {
			for _, drop := range []bool{false, true} {
				name := "EncoderLayer" + norm.name + string(act)
				rate := 0.0
				if drop {
					name += "Dropout"
					rate = 0.25
				}
				normFirst := norm.normFirst
				tests = append(tests, struct {
					name    string
					dropout bool
					build   func(t *testing.T, rng *rand.Rand) func(g *nn.Graph) (*G.Node, error)
				}{name: name, dropout: drop, build: func(t *testing.T, rng *rand.Rand) func(*nn.Graph) (*G.Node, error) {
					l, err := NewEncoderLayer("layer", layerConfig(normFirst, act, rate), rng)
					if err != nil {
						t.Fatal(err)
					}
					return seqLayer(t, rng, l, func(g *nn.Graph, x, keep *G.Node) (*G.Node, error) {
						y, _, err := l.Forward(g, x, keep)
						return y, err
					})
				}})
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			build := tc.build(t, newRand(3))
			var prepare func(g *nn.Graph)
			if tc.dropout {
				prepare = func(g *nn.Graph) { g.SampleDropout(newRand(5)) }
			}
			gradCheck(t, build, prepare)
		})
	}
}

// TestEncoderLossGradient checks the whole model's loss: embedding,
// sinusoidal positions, a 2-layer encoder over a padded batch, a tagging
// head and masked cross-entropy.
func TestEncoderLossGradient(t *testing.T) {
	for _, normFirst := range []bool{false, true} {
		rng := newRand(11)
		emb, err := NewEmbedding("embed", EmbeddingConfig{Vocab: gV, DModel: gD, Scale: true, Dtype: tensor.Float64}, rng)
		if err != nil {
			t.Fatal(err)
		}
		pos, err := NewPositionalEncoding("pos", PositionalConfig{Kind: Sinusoidal, DModel: gD, MaxLen: 0, Dtype: tensor.Float64}, rng)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := NewEncoder("encoder", EncoderConfig{Layers: 2, Layer: layerConfig(normFirst, ReLU, 0.1), FinalNorm: normFirst}, rng)
		if err != nil {
			t.Fatal(err)
		}
		head, err := NewLinear("head", LinearConfig{In: gD, Out: gV, Dtype: tensor.Float64}, rng)
		if err != nil {
			t.Fatal(err)
		}
		perturb(t, enc, rng)
		perturb(t, head, rng)
		build := func(g *nn.Graph) (*G.Node, error) {
			ids, err := feed(g, "ids", []float64{1, 2, 3, 4, 5, 6, 0, 0}, gB, gT)
			if err != nil {
				return nil, err
			}
			keep, err := feed(g, "keep", keepMask, gB, gT)
			if err != nil {
				return nil, err
			}
			targets, err := feed(g, "targets", []float64{4, 3, 2, 1, 6, 5, -1, -1}, gB*gT)
			if err != nil {
				return nil, err
			}
			x, err := emb.Forward(g, ids)
			if err != nil {
				return nil, err
			}
			if x, err = pos.Forward(g, x); err != nil {
				return nil, err
			}
			if x, _, err = enc.Forward(g, x, keep); err != nil {
				return nil, err
			}
			logits, err := head.Forward(g, x)
			if err != nil {
				return nil, err
			}
			if logits, err = G.Reshape(logits, tensor.Shape{gB * gT, gV}); err != nil {
				return nil, err
			}
			return nn.CrossEntropy(logits, targets)
		}
		t.Run(map[bool]string{false: "PostNorm", true: "PreNorm"}[normFirst], func(t *testing.T) {
			t.Parallel()
			gradCheck(t, build, func(g *nn.Graph) { g.SampleDropout(newRand(8)) })
		})
	}
}
