package train

import (
	"flag"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// TransformerConfig is the transformer's own settings; d_model, layers
// and dropout are Architecture's.
type TransformerConfig struct {
	Heads      int                  `json:"heads"`      // attention heads h; must divide d_model
	DFF        int                  `json:"d_ff"`       // the feed-forward hidden width
	Activation layers.Activation    `json:"activation"` // relu or gelu
	Norm       layers.NormPlacement `json:"norm"`       // post (the paper) or pre
	Positional layers.Positional    `json:"pos"`        // sinusoidal, learned, rotary or none
	// Mask is which keys attention may see: padding (also the zero value,
	// left out of config.json) or causal (and padding).
	Mask layers.Mask `json:"mask,omitempty"`
}

func init() { registerBackbone(func(a *Architecture) backbone { return &a.TransformerConfig }) }

func (c *TransformerConfig) arch() Arch { return Transformer }

func (c *TransformerConfig) check(a *Architecture, active bool) []error {
	if !active {
		return nil // an lstm's config.json carries these keys at their defaults
	}
	var errs []error
	if c.Heads <= 0 || c.DFF <= 0 {
		errs = append(errs, settingError("heads", "heads and {d_ff} must be positive, got %d and %d", c.Heads, c.DFF))
	} else if a.DModel%c.Heads != 0 {
		errs = append(errs, settingError("d_model", "{d_model} %d is not divisible by heads %d", a.DModel, c.Heads))
	}
	if err := c.Activation.Check(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Norm.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.Positional.Check() != nil {
		errs = append(errs, settingError("pos", "unknown pos %q (want sinusoidal, learned, rotary or none)", string(c.Positional)))
	} else if c.Positional == layers.RotaryPosition && c.Heads > 0 && a.DModel%c.Heads == 0 && (a.DModel/c.Heads)%2 != 0 {
		errs = append(errs, settingError("pos", "rotary positions need an even d_model/heads, got %d", a.DModel/c.Heads))
	}
	if c.Mask.Check() != nil {
		errs = append(errs, settingError("mask", "unknown mask %q (want padding or causal)", string(c.Mask)))
	}
	return errs
}

// resolve gives each zero setting Default()'s value.
func (c *TransformerConfig) resolve(*Architecture) {
	d := Default().TransformerConfig
	if c.Heads == 0 {
		c.Heads = d.Heads
	}
	if c.DFF == 0 {
		c.DFF = d.DFF
	}
	if c.Activation == "" {
		c.Activation = d.Activation
	}
	if c.Norm == "" {
		c.Norm = d.Norm
	}
	if c.Positional == "" {
		c.Positional = d.Positional
	}
}

func (c *TransformerConfig) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Heads, "heads", c.Heads, "attention heads (must divide d-model)")
	fs.IntVar(&c.DFF, "d-ff", c.DFF, "feed-forward hidden width d_ff")
	fs.TextVar(&c.Activation, "activation", c.Activation, "feed-forward activation: relu or gelu")
	fs.TextVar(&c.Norm, "norm", c.Norm, "layer-norm placement: post (the paper) or pre")
	fs.TextVar(&c.Positional, "pos", c.Positional, "positional encoding: sinusoidal, learned, rotary (queries and keys rotated in attention) or none")
	fs.TextVar(&c.Mask, "mask", c.Mask, "attention mask: padding, or causal (each position sees itself and those before it)")
}

// build makes, in this order (the order of the random draws), the
// encoder, the embedding — scaled by √d_model, as the paper's section 3.4
// has it — and the positions.
func (c *TransformerConfig) build(mc ModelConfig, rng *rand.Rand) (*layers.Embedding, Backbone, error) {
	dt := mc.Dtype.Tensor()
	layer := layers.EncoderLayerConfig{
		DModel: mc.DModel, Heads: c.Heads, DFF: c.DFF, Activation: c.Activation,
		Dropout: mc.Dropout, Norm: c.Norm, Dtype: dt,
		Mask: c.Mask, Rotary: c.Positional == layers.RotaryPosition,
	}
	enc, err := layers.NewEncoder("encoder", layers.EncoderConfig{Layers: mc.Layers, Layer: layer, FinalNorm: c.Norm == layers.PreNorm}, rng)
	if err != nil {
		return nil, nil, err
	}
	emb, err := layers.NewEmbedding("embed", layers.EmbeddingConfig{Vocab: mc.InVocab, DModel: mc.DModel, Scale: true, Dtype: dt}, rng)
	if err != nil {
		return nil, nil, err
	}
	pos, err := layers.NewPositionalEncoding("pos", layers.PositionalConfig{Kind: c.Positional, DModel: mc.DModel, MaxLen: mc.MaxLen, Dtype: dt}, rng)
	if err != nil {
		return nil, nil, err
	}
	return emb, &TransformerBackbone{Pos: pos, Encoder: enc, dropout: mc.Dropout}, nil
}

func (c *TransformerConfig) sequentialDepth(mc ModelConfig, _ int) int { return mc.Layers }

// TransformerBackbone is the encoder of Vaswani et al. (2017): positions
// added to the embedded tokens, dropout, then the encoder's layers of
// self-attention and feed-forward.
type TransformerBackbone struct {
	Pos     *layers.PositionalEncoding // sinusoidal, learned or none
	Encoder *layers.Encoder            // its Layers hold the attention of each layer
	dropout float64
}

var (
	_ Backbone      = (*TransformerBackbone)(nil)
	_ lengthLimited = (*TransformerBackbone)(nil)
	_ inspectable   = (*TransformerBackbone)(nil)
)

// Params lists the positions' and the encoder's parameters.
func (b *TransformerBackbone) Params() []*nn.Param {
	return append(b.Pos.Params(), b.Encoder.Params()...)
}

// Forward: x [B,T,D] → x + PE → Dropout → Encoder → [B,T,D], with every
// layer's attention weights [B,H,T,T].
func (b *TransformerBackbone) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, []*G.Node, error) {
	x, err := b.Pos.Forward(g, x) // [B,T,D]
	if err != nil {
		return nil, nil, err
	}
	if x, err = g.Dropout("embed", x, b.dropout); err != nil {
		return nil, nil, err
	}
	return b.Encoder.Forward(g, x, keep) // [B,T,D], [B,H,T,T] per layer
}

// Width is d_model.
func (b *TransformerBackbone) Width() int { return b.Pos.DModel }

// maxLen is the length learned positions cover; other positions take any
// length.
func (b *TransformerBackbone) maxLen() (int, string) {
	if b.Pos.Table == nil {
		return 0, ""
	}
	return b.Pos.Table.Shape()[0], "the model's learned positions cover"
}

// inspect runs x [1,T,D] through the positions and every encoder layer,
// and returns each layer's queries and keys [1,T,D] and attention weights
// [1,H,T,T], three nodes a layer.
func (b *TransformerBackbone) inspect(g *nn.Graph, x, keep *G.Node) ([]*G.Node, error) {
	x, err := b.Pos.Forward(g, x)
	if err != nil {
		return nil, err
	}
	var outs []*G.Node // q, k, weights of each layer
	for _, l := range b.Encoder.Layers {
		q, k, err := l.QK(g, x) // [1,T,D] each
		if err != nil {
			return nil, err
		}
		var w *G.Node
		if x, w, err = l.Forward(g, x, keep); err != nil { // [1,T,D], [1,H,T,T]
			return nil, err
		}
		outs = append(outs, q, k, w)
	}
	return outs, nil
}
