package layers

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// DefaultEps is the ε of layer normalisation, as in torch.nn.LayerNorm.
const DefaultEps = 1e-5

// LayerNorm normalises over the last axis (Ba et al., 2016):
//
//	y = (x − E[x]) / √(Var[x] + ε) · γ + β
type LayerNorm struct {
	Gamma *nn.Param // [D], starts at one
	Beta  *nn.Param // [D], starts at zero
	Eps   float64   // ε added to the variance
}

var _ nn.Module = (*LayerNorm)(nil)

// LayerNormConfig sizes a LayerNorm.
type LayerNormConfig struct {
	D     int          // features normalised together
	Eps   float64      // ε, positive; DefaultEps as in PyTorch
	Dtype tensor.Dtype // tensor.Float32 or tensor.Float64 (nn.ShapesOnly to count parameters)
}

// NewLayerNorm makes a layer norm over cfg.D features; its parameters are
// name.weight (γ) and name.bias (β), as PyTorch names them. It is the one
// constructor without a generator: γ starts at one and β at zero.
func NewLayerNorm(name string, cfg LayerNormConfig) (*LayerNorm, error) {
	d, eps, dt := cfg.D, cfg.Eps, cfg.Dtype
	if d <= 0 {
		return nil, fmt.Errorf("layers: layer norm %q: size must be positive, got %d", name, d)
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("layers: layer norm %q: eps must be positive, got %g", name, eps)
	}
	var rng *rand.Rand // ones and zeros draw nothing
	gamma, err := newParam(nn.Join(name, "weight"), dt, nn.Ones, rng, d)
	if err != nil {
		return nil, err
	}
	beta, err := newParam(nn.Join(name, "bias"), dt, nn.Zeros, rng, d)
	if err != nil {
		return nil, err
	}
	return &LayerNorm{Gamma: gamma, Beta: beta, Eps: eps}, nil
}

// Params returns γ and β.
func (l *LayerNorm) Params() []*nn.Param { return []*nn.Param{l.Gamma, l.Beta} }

// Forward normalises x: [..., D] → [..., D].
func (l *LayerNorm) Forward(g *nn.Graph, x *G.Node) (*G.Node, error) {
	gamma, err := g.Param(l.Gamma)
	if err != nil {
		return nil, err
	}
	beta, err := g.Param(l.Beta)
	if err != nil {
		return nil, err
	}
	return g.Ops().LayerNorm(x, gamma, beta, l.Eps)
}
