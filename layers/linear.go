package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// Linear is an affine map y = x·Wᵀ + b over the last axis, with W stored
// [out, in] as in torch.nn.Linear.
type Linear struct {
	Weight *nn.Param // [Out, In], Xavier-uniform initialised (TorchInit: U(−1/√In, 1/√In))
	Bias   *nn.Param // [Out], zero initialised (TorchInit: U(−1/√In, 1/√In))
}

var _ nn.Module = (*Linear)(nil)

// LinearConfig sizes a Linear.
type LinearConfig struct {
	In, Out int          // input and output features: W is [Out, In]
	Dtype   tensor.Dtype // tensor.Float32 or tensor.Float64 (nn.ShapesOnly to count parameters)
	// TorchInit draws weight and bias as torch.nn.Linear does by default
	// (kaiming_uniform_ with a = √5, which is U(−1/√In, 1/√In), and the
	// bias from the same range) instead of Xavier-uniform weights and a
	// zero bias.
	TorchInit bool
}

// NewLinear makes a Linear layer named name (its parameters are
// name.weight and name.bias).
func NewLinear(name string, cfg LinearConfig, rng *rand.Rand) (*Linear, error) {
	in, out, dt := cfg.In, cfg.Out, cfg.Dtype
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("layers: linear %q: sizes must be positive, got in=%d out=%d", name, in, out)
	}
	wInit, bInit := nn.XavierUniform, nn.Zeros
	if cfg.TorchInit {
		wInit = nn.Uniform(1 / math.Sqrt(float64(in)))
		bInit = wInit
	}
	w, err := newParam(nn.Join(name, "weight"), dt, wInit, rng, out, in)
	if err != nil {
		return nil, err
	}
	b, err := newParam(nn.Join(name, "bias"), dt, bInit, rng, out)
	if err != nil {
		return nil, err
	}
	return &Linear{Weight: w, Bias: b}, nil
}

// Params returns the weight and the bias.
func (l *Linear) Params() []*nn.Param { return []*nn.Param{l.Weight, l.Bias} }

// Forward computes x·Wᵀ + b: [..., In] → [..., Out].
func (l *Linear) Forward(g *nn.Graph, x *G.Node) (*G.Node, error) {
	return l.forward(g, x, g.Ops().Linear)
}

// forwardReLU computes max(x·Wᵀ + b, 0) as one op (nn.LinearReLU).
func (l *Linear) forwardReLU(g *nn.Graph, x *G.Node) (*G.Node, error) {
	return l.forward(g, x, g.Ops().LinearReLU)
}

// forward binds the weight and the bias into g and applies op.
func (l *Linear) forward(g *nn.Graph, x *G.Node, op func(x, w, b *G.Node) (*G.Node, error)) (*G.Node, error) {
	w, err := g.Param(l.Weight)
	if err != nil {
		return nil, err
	}
	b, err := g.Param(l.Bias)
	if err != nil {
		return nil, err
	}
	return op(x, w, b)
}

// newParam makes and initialises one parameter.
func newParam(name string, dt tensor.Dtype, init nn.Initializer, rng *rand.Rand, shape ...int) (*nn.Param, error) {
	p, err := nn.NewParam(name, dt, shape...)
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	if err := init(p, rng); err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	return p, nil
}

// collect concatenates the parameters of modules.
func collect(ms ...nn.Module) []*nn.Param {
	var ps []*nn.Param
	for _, m := range ms {
		ps = append(ps, m.Params()...)
	}
	return ps
}
