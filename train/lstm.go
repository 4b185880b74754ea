package train

import (
	"flag"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// LSTMConfig is the recurrent baseline's own settings. Its hidden size is
// d_model (also the embedding's width) and its depth layers; dropout
// applies to the embedding and between layers.
type LSTMConfig struct {
	// Directions is 1, or 2 for a bidirectional LSTM; 0 is 2, resolved
	// when a run starts. It stays unset for the other architectures.
	Directions int `json:"directions,omitempty"`
}

func init() { registerBackbone(func(a *Architecture) backbone { return &a.LSTMConfig }) }

func (c *LSTMConfig) arch() Arch { return LSTM }

func (c *LSTMConfig) check(a *Architecture, active bool) []error {
	if active && c.Directions >= 0 && c.Directions <= 2 || !active && c.Directions == 0 {
		return nil
	}
	return []error{settingError("directions", "directions must be 1 or 2 for an lstm (0: 2) and unset for a %s, got %d", a.Model.String(), c.Directions)}
}

// resolve makes an LSTM bidirectional unless told otherwise: the encoder
// sees the whole sequence, as attention does.
func (c *LSTMConfig) resolve(*Architecture) {
	if c.Directions == 0 {
		c.Directions = 2
	}
}

func (c *LSTMConfig) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Directions, "directions", c.Directions, "with -model lstm only: 1, or 2 for bidirectional (an lstm's default; the other models take no -directions)")
}

func (c *LSTMConfig) directions() int {
	if c.Directions == 0 {
		return 2
	}
	return c.Directions
}

// build makes an unscaled embedding of width d_model, then an LSTM of
// hidden size d_model. Each is initialised as PyTorch initialises
// nn.Embedding (N(0, 1)) and nn.LSTM (U(−1/√H, 1/√H)), and the head
// (torchInitHead) as nn.Linear (U(−1/√fan_in, 1/√fan_in)): the recurrent
// field's own defaults, not the transformer's (issue 14: the
// transformer's N(0, 1/d) embedding cost this LSTM 28 points on lag8).
func (c *LSTMConfig) build(mc ModelConfig, rng *rand.Rand) (*layers.Embedding, Backbone, error) {
	dt := mc.Dtype.Tensor()
	emb, err := layers.NewEmbedding("embed", layers.EmbeddingConfig{Vocab: mc.InVocab, DModel: mc.DModel, Std: 1, Dtype: dt}, rng)
	if err != nil {
		return nil, nil, err
	}
	lstm, err := layers.NewLSTM("lstm", layers.LSTMConfig{
		Input: mc.DModel, Hidden: mc.DModel, Layers: mc.Layers, Bidirectional: c.directions() == 2, Dropout: mc.Dropout, Dtype: dt,
	}, rng)
	if err != nil {
		return nil, nil, err
	}
	return emb, &LSTMBackbone{LSTM: lstm, dropout: mc.Dropout}, nil
}

func (c *LSTMConfig) sequentialDepth(mc ModelConfig, t int) int { return mc.Layers * t }

// LSTMBackbone is the recurrent baseline: dropout on the embedded tokens,
// then a stack of (bidirectional) LSTM layers, which need no positions.
type LSTMBackbone struct {
	LSTM    *layers.LSTM // weights named and laid out as torch.nn.LSTM's
	dropout float64
}

var _ Backbone = (*LSTMBackbone)(nil)

// Params lists the LSTM's parameters, in PyTorch's order.
func (b *LSTMBackbone) Params() []*nn.Param { return b.LSTM.Params() }

// Forward: x [B,T,D] → Dropout → LSTM → [B,T,D·directions], no attention.
func (b *LSTMBackbone) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, []*G.Node, error) {
	x, err := g.Dropout("embed", x, b.dropout)
	if err != nil {
		return nil, nil, err
	}
	y, err := b.LSTM.Forward(g, x, keep) // [B,T,D·directions]
	return y, nil, err
}

// Width is d_model·directions.
func (b *LSTMBackbone) Width() int {
	c := b.LSTM.Config()
	return c.Hidden * c.Directions()
}

// torchInitHead marks the LSTM's head as initialised as torch.nn.Linear's
// default (layers.LinearConfig.TorchInit).
func (*LSTMBackbone) torchInitHead() {}
