package train

import (
	"flag"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// GRU is the gated recurrent unit (Cho et al., 2014): a recurrent backbone
// written in nn's primitives alone (layers.GRU), with no backward code.
const GRU Arch = "gru"

// GRUConfig is the GRU's own settings: none beyond the shared ones. Its
// hidden size is d_model (also the embedding's width) and its depth
// layers; dropout applies to the embedding and between layers.
type GRUConfig struct{}

func init() { registerBackbone(func(a *Architecture) backbone { return &a.GRUConfig }) }

func (c *GRUConfig) arch() Arch { return GRU }

func (c *GRUConfig) check(*Architecture, bool) []error { return nil }

func (c *GRUConfig) resolve(*Architecture) {}

func (c *GRUConfig) bindFlags(*flag.FlagSet) {}

// build makes an unscaled embedding of width d_model, then a GRU of hidden
// size d_model.
func (c *GRUConfig) build(mc ModelConfig, rng *rand.Rand) (*layers.Embedding, Backbone, error) {
	dt := mc.Dtype.Tensor()
	emb, err := layers.NewEmbedding("embed", layers.EmbeddingConfig{Vocab: mc.InVocab, DModel: mc.DModel, Dtype: dt}, rng)
	if err != nil {
		return nil, nil, err
	}
	gru, err := layers.NewGRU("gru", layers.GRUConfig{Input: mc.DModel, Hidden: mc.DModel, Layers: mc.Layers, Dropout: mc.Dropout, Dtype: dt}, rng)
	if err != nil {
		return nil, nil, err
	}
	return emb, &GRUBackbone{GRU: gru, dropout: mc.Dropout}, nil
}

func (c *GRUConfig) sequentialDepth(mc ModelConfig, t int) int { return mc.Layers * t }

// GRUBackbone is dropout on the embedded tokens, then a stack of GRU
// layers, which need no positions.
type GRUBackbone struct {
	GRU     *layers.GRU
	dropout float64
}

var _ Backbone = (*GRUBackbone)(nil)

// Params lists the GRU's parameters, in PyTorch's order.
func (b *GRUBackbone) Params() []*nn.Param { return b.GRU.Params() }

// Forward: x [B,T,D] → Dropout → GRU → [B,T,D], no attention.
func (b *GRUBackbone) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, []*G.Node, error) {
	x, err := g.Dropout("embed", x, b.dropout)
	if err != nil {
		return nil, nil, err
	}
	y, err := b.GRU.Forward(g, x, keep) // [B,T,D]
	return y, nil, err
}

// Width is d_model.
func (b *GRUBackbone) Width() int { return b.GRU.Config().Hidden }
