package layers

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// FeedForwardConfig sizes a FeedForward.
type FeedForwardConfig struct {
	DModel     int          // input and output width d_model
	DFF        int          // width of the hidden layer, d_ff
	Activation Activation   // ReLU or GELU
	Dropout    float64      // dropout on the hidden activations while training
	Dtype      tensor.Dtype // tensor.Float32 or tensor.Float64
}

// Validate reports a configuration that cannot be built.
func (c FeedForwardConfig) Validate() error {
	switch {
	case c.DModel <= 0 || c.DFF <= 0:
		return fmt.Errorf("d_model and d_ff must be positive, got %d and %d", c.DModel, c.DFF)
	case c.Activation.Check() != nil:
		return c.Activation.Check()
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("dropout %g outside [0, 1)", c.Dropout)
	}
	return nil
}

// FeedForward is the position-wise network of the paper's section 3.3,
// applied to each position alike:
//
//	FFN(x) = act(x·W₁ᵀ + b₁)·W₂ᵀ + b₂
type FeedForward struct {
	Linear1, Linear2 *Linear // d_model → d_ff and d_ff → d_model
	cfg              FeedForwardConfig
	name             string
}

var _ nn.Module = (*FeedForward)(nil)

// NewFeedForward makes name.linear1 [DFF, D] and name.linear2 [D, DFF].
func NewFeedForward(name string, cfg FeedForwardConfig, rng *rand.Rand) (*FeedForward, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers: feed-forward %q: %w", name, err)
	}
	l1, err := NewLinear(nn.Join(name, "linear1"), LinearConfig{In: cfg.DModel, Out: cfg.DFF, Dtype: cfg.Dtype}, rng)
	if err != nil {
		return nil, err
	}
	l2, err := NewLinear(nn.Join(name, "linear2"), LinearConfig{In: cfg.DFF, Out: cfg.DModel, Dtype: cfg.Dtype}, rng)
	if err != nil {
		return nil, err
	}
	return &FeedForward{Linear1: l1, Linear2: l2, cfg: cfg, name: name}, nil
}

// Params returns the parameters of both linear maps.
func (f *FeedForward) Params() []*nn.Param { return collect(f.Linear1, f.Linear2) }

// Forward applies the network: [..., D] → [..., D].
func (f *FeedForward) Forward(g *nn.Graph, x *G.Node) (*G.Node, error) {
	var h *G.Node
	var err error
	if f.cfg.Activation == GELU {
		if h, err = f.Linear1.Forward(g, x); err == nil {
			h, err = g.Ops().GELU(h)
		}
	} else {
		h, err = f.Linear1.forwardReLU(g, x) // one fused op: max(x·W₁ᵀ + b₁, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("layers: feed-forward %q: %w", f.name, err)
	}
	if h, err = g.Dropout(nn.Join(f.name, "hidden"), h, f.cfg.Dropout); err != nil {
		return nil, err
	}
	return f.Linear2.Forward(g, h)
}
