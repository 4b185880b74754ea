package layers

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// GRUConfig sizes a GRU.
type GRUConfig struct {
	Input   int          // I, the width of each input step
	Hidden  int          // H, the width of the state
	Layers  int          // stacked layers; layer k > 0 reads layer k−1's output
	Dropout float64      // dropout on the outputs of every layer but the last, while training
	Dtype   tensor.Dtype // tensor.Float32 or tensor.Float64
}

// Validate reports a configuration that cannot be built.
func (c GRUConfig) Validate() error {
	return validateRecurrent(c.Input, c.Hidden, c.Layers, c.Dropout)
}

// GRULayer holds one layer's weights, the gate blocks stacked [r; z; n] as
// in torch.nn.GRU: WeightIH [3H, I] (layer 0) or [3H, H], WeightHH [3H, H],
// BiasIH and BiasHH [3H].
type GRULayer = RecurrentWeights

// GRU is a stack of gated recurrent unit layers (Cho et al., 2014)
// computing what torch.nn.GRU(batch_first=True) computes. Each layer runs,
// from h_0 = 0,
//
//	r = σ(x_t·W_irᵀ + b_ir + h_{t−1}·W_hrᵀ + b_hr)
//	z = σ(x_t·W_izᵀ + b_iz + h_{t−1}·W_hzᵀ + b_hz)
//	n = tanh(x_t·W_inᵀ + b_in + r ⊙ (h_{t−1}·W_hnᵀ + b_hn))
//	h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//
// with b_hn inside the reset gate's product, as PyTorch (and cuDNN) have
// it. A padded step leaves h unchanged and outputs zero, so right-padded
// sequences give PyTorch's outputs at every real position.
//
// It is written in nn's primitives only and has no backward code: its
// gradient is their derivatives chained. The steps' inputs come out of the
// sequence through nn.Split, whose gradient costs O(T) where slicing each
// step out of the whole would cost O(T²): a GRU's backward pass is linear
// in T, as the LSTM's fused scan is.
type GRU struct {
	Layers []*GRULayer // one per layer, bottom first
	cfg    GRUConfig
	name   string
}

var _ nn.Module = (*GRU)(nil)

// NewGRU makes the parameters PyTorch names, in its order and layout:
// name.weight_ih_l{k}, name.weight_hh_l{k}, name.bias_ih_l{k} and
// name.bias_hh_l{k}, each drawn from U(−1/√H, 1/√H) as PyTorch does.
func NewGRU(name string, cfg GRUConfig, rng *rand.Rand) (*GRU, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers: gru %q: %w", name, err)
	}
	l := &GRU{cfg: cfg, name: name}
	for k := 0; k < cfg.Layers; k++ {
		in := cfg.Input
		if k > 0 {
			in = cfg.Hidden
		}
		w, err := newRecurrentWeights(name, fmt.Sprintf("_l%d", k), 3, in, cfg.Hidden, cfg.Dtype, rng)
		if err != nil {
			return nil, fmt.Errorf("layers: gru %q: %w", name, err)
		}
		l.Layers = append(l.Layers, w)
	}
	return l, nil
}

// Params returns every layer's parameters, layer by layer: the order of
// torch.nn.GRU's parameters.
func (l *GRU) Params() []*nn.Param {
	var ps []*nn.Param
	for _, layer := range l.Layers {
		ps = append(ps, layer.Params()...)
	}
	return ps
}

// Config returns the configuration the layer was made with.
func (l *GRU) Config() GRUConfig { return l.cfg }

// Forward runs every layer over the batch: x [B, T, I], keep [B, T] (1 for
// a real token, 0 for padding) → y [B, T, H], zero at padded positions.
func (l *GRU) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return fmt.Errorf("layers: gru %q: %w", l.name, err) }
	s := x.Shape()
	if len(s) != 3 || s[2] != l.cfg.Input {
		return nil, wrap(fmt.Errorf("input %v, want [B,T,%d]", s, l.cfg.Input))
	}
	if ks := keep.Shape(); len(ks) != 2 || ks[0] != s[0] || ks[1] != s[1] {
		return nil, wrap(fmt.Errorf("mask %v, want [%d,%d]", ks, s[0], s[1]))
	}
	y, err := stack(g, l.name, len(l.Layers), l.cfg.Dropout, x, func(k int, x *G.Node) (*G.Node, error) {
		return l.layer(g, l.Layers[k], x, keep)
	})
	if err != nil {
		return nil, wrap(err)
	}
	return y, nil
}

// layer runs one layer: x [B, T, I], keep [B, T] → [B, T, H].
func (l *GRU) layer(g *nn.Graph, p *GRULayer, x, keep *G.Node) (*G.Node, error) {
	w, err := p.bind(g) // W_ih, W_hh, b_ih, b_hh
	if err != nil {
		return nil, err
	}
	s, h := x.Shape(), l.cfg.Hidden
	b, n := s[0], s[1]
	gi, err := nn.MatMul(x, w[0], false, true) // x·W_ihᵀ: [B,T,3H]
	if err == nil {
		gi, err = nn.Plus(gi, w[2])
	}
	if err != nil {
		return nil, err
	}
	its, err := nn.Split(gi, 1) // [B,3H] each, with a gradient of linear cost
	if err != nil {
		return nil, err
	}
	gate := func(x *G.Node, i int) (*G.Node, error) { return nn.Slice(x, 1, i*h, (i+1)*h) } // block i of [B,3H]
	ys := make([]*G.Node, n)
	var hp *G.Node // h_{t−1}; nil is zero
	for t := 0; t < n; t++ {
		it := its[t]
		gh := w[3] // h_{t−1}·W_hhᵀ + b_hh: [B,3H], or b_hh [3H] from h_0 = 0
		if hp != nil {
			if gh, err = nn.MatMul(hp, w[1], false, true); err == nil {
				gh, err = nn.Plus(gh, w[3])
			}
			if err != nil {
				return nil, err
			}
		}
		var ig, hg [3]*G.Node // the r, z, n blocks of each
		for i := range 3 {
			if ig[i], err = gate(it, i); err != nil {
				return nil, err
			}
			if hg[i], err = nn.Slice(gh, -1, i*h, (i+1)*h); err != nil {
				return nil, err
			}
		}
		r, err := sigmoidOfSum(ig[0], hg[0])
		if err != nil {
			return nil, err
		}
		z, err := sigmoidOfSum(ig[1], hg[1])
		if err != nil {
			return nil, err
		}
		cand, err := nn.Times(r, hg[2]) // r ⊙ (h·W_hnᵀ + b_hn)
		if err == nil {
			cand, err = nn.Plus(ig[2], cand)
		}
		if err == nil {
			cand, err = nn.Tanh(cand) // n
		}
		if err != nil {
			return nil, err
		}
		// h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} = n + z ⊙ (h_{t−1} − n)
		var diff *G.Node
		if hp == nil {
			diff, err = nn.Neg(cand)
		} else {
			diff, err = nn.Minus(hp, cand)
		}
		if err != nil {
			return nil, err
		}
		hn, err := nn.Times(z, diff)
		if err == nil {
			hn, err = nn.Plus(cand, hn)
		}
		if err != nil {
			return nil, err
		}
		kt, err := nn.Slice(keep, 1, t, t+1) // [B,1]: no gradient, so a slice of the whole costs nothing backward
		if err != nil {
			return nil, err
		}
		if hp == nil { // a padded first step keeps h_0 = 0
			hp, err = nn.Times(hn, kt)
		} else {
			hp, err = nn.Where(kt, hn, hp)
		}
		if err != nil {
			return nil, err
		}
		if ys[t], err = nn.Times(hp, kt); err != nil { // [B,H], zero at padding
			return nil, err
		}
	}
	y, err := nn.Concat(1, ys...) // [B,T·H]
	if err != nil {
		return nil, err
	}
	return nn.Reshape(y, b, n, h) // [B,T,H]
}

func sigmoidOfSum(a, b *G.Node) (*G.Node, error) {
	s, err := nn.Plus(a, b)
	if err != nil {
		return nil, err
	}
	return nn.Sigmoid(s)
}
