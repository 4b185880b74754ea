package layers

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// EncoderLayerConfig sizes one encoder layer.
type EncoderLayerConfig struct {
	DModel     int           // model width d_model, a multiple of Heads
	Heads      int           // attention heads h
	DFF        int           // feed-forward hidden width d_ff
	Activation Activation    // ReLU or GELU
	Dropout    float64       // on attention weights, the hidden layer and both residual branches
	Norm       NormPlacement // PostNorm (the paper; also the zero value) or PreNorm
	Eps        float64       // layer norm ε; 0 means DefaultEps
	Dtype      tensor.Dtype  // tensor.Float32 or tensor.Float64 (nn.ShapesOnly to count parameters)
	Mask       Mask          // padding (the zero value) or causal
	Rotary     bool          // rotary positions in attention
}

func (c EncoderLayerConfig) attention() AttentionConfig {
	return AttentionConfig{DModel: c.DModel, Heads: c.Heads, Dropout: c.Dropout, Dtype: c.Dtype, Mask: c.Mask, Rotary: c.Rotary}
}

func (c EncoderLayerConfig) feedForward() FeedForwardConfig {
	return FeedForwardConfig{DModel: c.DModel, DFF: c.DFF, Activation: c.Activation, Dropout: c.Dropout, Dtype: c.Dtype}
}

func (c EncoderLayerConfig) eps() float64 {
	if c.Eps == 0 {
		return DefaultEps
	}
	return c.Eps
}

// Validate reports a configuration that cannot be built.
func (c EncoderLayerConfig) Validate() error {
	if err := c.attention().Validate(); err != nil {
		return err
	}
	if err := c.feedForward().Validate(); err != nil {
		return err
	}
	if c.Eps < 0 {
		return fmt.Errorf("layer norm eps %g is negative", c.Eps)
	}
	if c.Norm != "" {
		return c.Norm.Check()
	}
	return nil
}

// EncoderLayer is one layer of the paper's encoder (section 3.1): self-
// attention, then the feed-forward network, each wrapped in a residual
// connection and a layer norm. Post-norm (the paper, and PyTorch's default):
//
//	x = LN₁(x + Dropout(Attn(x)));  x = LN₂(x + Dropout(FFN(x)))
//
// Pre-norm (norm_first, which trains deep stacks more easily; Xiong et al., 2020):
//
//	x = x + Dropout(Attn(LN₁(x)));  x = x + Dropout(FFN(LN₂(x)))
type EncoderLayer struct {
	Attn         *MultiHeadAttention // self-attention, the first sublayer
	FF           *FeedForward        // position-wise feed-forward, the second sublayer
	Norm1, Norm2 *LayerNorm          // the layer norms of the first and second sublayer
	cfg          EncoderLayerConfig
	name         string
}

var _ nn.Module = (*EncoderLayer)(nil)

// NewEncoderLayer makes name.attn, name.ff, name.norm1 and name.norm2.
func NewEncoderLayer(name string, cfg EncoderLayerConfig, rng *rand.Rand) (*EncoderLayer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers: encoder layer %q: %w", name, err)
	}
	attn, err := NewMultiHeadAttention(nn.Join(name, "attn"), cfg.attention(), rng)
	if err != nil {
		return nil, err
	}
	ff, err := NewFeedForward(nn.Join(name, "ff"), cfg.feedForward(), rng)
	if err != nil {
		return nil, err
	}
	n1, err := NewLayerNorm(nn.Join(name, "norm1"), LayerNormConfig{D: cfg.DModel, Eps: cfg.eps(), Dtype: cfg.Dtype})
	if err != nil {
		return nil, err
	}
	n2, err := NewLayerNorm(nn.Join(name, "norm2"), LayerNormConfig{D: cfg.DModel, Eps: cfg.eps(), Dtype: cfg.Dtype})
	if err != nil {
		return nil, err
	}
	return &EncoderLayer{Attn: attn, FF: ff, Norm1: n1, Norm2: n2, cfg: cfg, name: name}, nil
}

// Params returns the parameters of attention, feed-forward and both norms.
func (l *EncoderLayer) Params() []*nn.Param { return collect(l.Attn, l.FF, l.Norm1, l.Norm2) }

// Forward runs the layer: x [B, T, D], keep [B, T] → y [B, T, D] and the
// attention weights [B, H, T, T].
func (l *EncoderLayer) Forward(g *nn.Graph, x, keep *G.Node) (y, weights *G.Node, err error) {
	attend := func(x *G.Node) (*G.Node, error) {
		out, w, err := l.Attn.Forward(g, x, keep)
		weights = w
		return out, err
	}
	feed := func(x *G.Node) (*G.Node, error) { return l.FF.Forward(g, x) }
	if x, err = l.sublayer(g, x, l.Norm1, attend, "attn_residual"); err != nil {
		return nil, nil, fmt.Errorf("layers: encoder layer %q: %w", l.name, err)
	}
	if x, err = l.sublayer(g, x, l.Norm2, feed, "ff_residual"); err != nil {
		return nil, nil, fmt.Errorf("layers: encoder layer %q: %w", l.name, err)
	}
	return x, weights, nil
}

// sublayer wraps f in a residual connection and a layer norm: post-norm
// LN(x + Dropout(f(x))), or pre-norm x + Dropout(f(LN(x))).
func (l *EncoderLayer) sublayer(g *nn.Graph, x *G.Node, ln *LayerNorm, f func(*G.Node) (*G.Node, error), name string) (*G.Node, error) {
	in := x
	if l.cfg.Norm == PreNorm {
		var err error
		if in, err = ln.Forward(g, x); err != nil {
			return nil, err
		}
	}
	out, err := f(in)
	if err != nil {
		return nil, err
	}
	if out, err = g.Dropout(nn.Join(l.name, name), out, l.cfg.Dropout); err != nil {
		return nil, err
	}
	sum, err := g.Ops().Add(x, out)
	if err != nil || l.cfg.Norm == PreNorm {
		return sum, err
	}
	return ln.Forward(g, sum)
}

// EncoderConfig sizes a stack of encoder layers.
type EncoderConfig struct {
	Layers    int                // number of layers N, positive
	Layer     EncoderLayerConfig // every layer's sizes
	FinalNorm bool               // a layer norm after the last layer (usual with pre-norm)
}

// Validate reports a configuration that cannot be built.
func (c EncoderConfig) Validate() error {
	if c.Layers <= 0 {
		return fmt.Errorf("layers must be positive, got %d", c.Layers)
	}
	return c.Layer.Validate()
}

// Encoder is a stack of N encoder layers with an optional final norm.
type Encoder struct {
	Layers []*EncoderLayer // the N layers, bottom first
	Norm   *LayerNorm      // nil without FinalNorm
}

var _ nn.Module = (*Encoder)(nil)

// NewEncoder makes name.layers.0 … name.layers.N−1 and, if asked, name.norm.
func NewEncoder(name string, cfg EncoderConfig, rng *rand.Rand) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers: encoder %q: %w", name, err)
	}
	e := &Encoder{}
	for i := 0; i < cfg.Layers; i++ {
		l, err := NewEncoderLayer(nn.Join(name, "layers", strconv.Itoa(i)), cfg.Layer, rng)
		if err != nil {
			return nil, err
		}
		e.Layers = append(e.Layers, l)
	}
	if cfg.FinalNorm {
		n, err := NewLayerNorm(nn.Join(name, "norm"), LayerNormConfig{D: cfg.Layer.DModel, Eps: cfg.Layer.eps(), Dtype: cfg.Layer.Dtype})
		if err != nil {
			return nil, err
		}
		e.Norm = n
	}
	return e, nil
}

// Params returns every layer's parameters, then the final norm's.
func (e *Encoder) Params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range e.Layers {
		ps = append(ps, l.Params()...)
	}
	if e.Norm != nil {
		ps = append(ps, e.Norm.Params()...)
	}
	return ps
}

// Forward runs every layer: x [B, T, D], keep [B, T] → y [B, T, D] and one
// attention-weight node [B, H, T, T] per layer.
func (e *Encoder) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, []*G.Node, error) {
	weights := make([]*G.Node, len(e.Layers))
	var err error
	for i, l := range e.Layers {
		if x, weights[i], err = l.Forward(g, x, keep); err != nil {
			return nil, nil, err
		}
	}
	if e.Norm != nil {
		if x, err = e.Norm.Forward(g, x); err != nil {
			return nil, nil, err
		}
	}
	return x, weights, nil
}
