package layers

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// LSTMConfig sizes an LSTM.
type LSTMConfig struct {
	Input         int          // I, the width of each input step
	Hidden        int          // H, the width of the state of each direction
	Layers        int          // stacked layers; layer k > 0 reads layer k−1's output
	Bidirectional bool         // a second direction per layer, reading the sequence backwards
	Dropout       float64      // dropout on the outputs of every layer but the last, while training
	Dtype         tensor.Dtype // tensor.Float32 or tensor.Float64
}

// Validate reports a configuration that cannot be built.
func (c LSTMConfig) Validate() error {
	return validateRecurrent(c.Input, c.Hidden, c.Layers, c.Dropout)
}

// Directions returns 2 for a bidirectional LSTM and 1 otherwise.
func (c LSTMConfig) Directions() int {
	if c.Bidirectional {
		return 2
	}
	return 1
}

// LSTMDirection holds the weights of one direction of one layer, with the
// gate blocks stacked [i; f; g; o] as in torch.nn.LSTM: WeightIH [4H, I]
// (layer 0) or [4H, H·dirs], WeightHH [4H, H], BiasIH and BiasHH [4H].
type LSTMDirection = RecurrentWeights

// LSTM is a stack of long short-term memory layers (Hochreiter &
// Schmidhuber, 1997), each optionally bidirectional, computing what
// torch.nn.LSTM(batch_first=True) computes. Each direction of each layer
// runs, from h_0 = c_0 = 0,
//
//	[i, f, g, o] = [σ, σ, tanh, σ](x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)
//	c_t = f ⊙ c_{t−1} + i ⊙ g
//	h_t = o ⊙ tanh(c_t)
//
// The reverse direction runs t from T−1 down to 0; a layer's output is
// [h_t(forward) | h_t(reverse)]. A padded step leaves the state unchanged and
// outputs zero, so right-padded sequences give what PyTorch gives for
// packed sequences (pack_padded_sequence), and the reverse direction starts
// at each sequence's last real token.
type LSTM struct {
	Layers [][]*LSTMDirection // [layer][direction], the reverse direction second
	cfg    LSTMConfig
	name   string
}

var _ nn.Module = (*LSTM)(nil)

// NewLSTM makes the parameters PyTorch names, in its order and layout:
// name.weight_ih_l{k}, name.weight_hh_l{k}, name.bias_ih_l{k},
// name.bias_hh_l{k}, and the same with the suffix _reverse for the reverse
// direction. Every one is drawn from U(−1/√H, 1/√H), as PyTorch does.
func NewLSTM(name string, cfg LSTMConfig, rng *rand.Rand) (*LSTM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers: lstm %q: %w", name, err)
	}
	l := &LSTM{cfg: cfg, name: name}
	for k := 0; k < cfg.Layers; k++ {
		in := cfg.Input
		if k > 0 {
			in = cfg.Hidden * cfg.Directions()
		}
		var dirs []*LSTMDirection
		for d := 0; d < cfg.Directions(); d++ {
			suffix := fmt.Sprintf("_l%d", k)
			if d == 1 {
				suffix += "_reverse"
			}
			w, err := newRecurrentWeights(name, suffix, 4, in, cfg.Hidden, cfg.Dtype, rng)
			if err != nil {
				return nil, fmt.Errorf("layers: lstm %q: %w", name, err)
			}
			dirs = append(dirs, w)
		}
		l.Layers = append(l.Layers, dirs)
	}
	return l, nil
}

// Params returns every layer's parameters, layer by layer, the forward
// direction before the reverse: the order of torch.nn.LSTM's parameters.
func (l *LSTM) Params() []*nn.Param {
	var ps []*nn.Param
	for _, dirs := range l.Layers {
		for _, d := range dirs {
			ps = append(ps, d.Params()...)
		}
	}
	return ps
}

// Config returns the configuration the layer was made with.
func (l *LSTM) Config() LSTMConfig { return l.cfg }

// Forward runs every layer over the batch: x [B, T, I], keep [B, T] (1 for
// a real token, 0 for padding) → y [B, T, H·dirs], zero at padded
// positions.
func (l *LSTM) Forward(g *nn.Graph, x, keep *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return fmt.Errorf("layers: lstm %q: %w", l.name, err) }
	if s := x.Shape(); len(s) != 3 || s[2] != l.cfg.Input {
		return nil, wrap(fmt.Errorf("input %v, want [B,T,%d]", s, l.cfg.Input))
	}
	y, err := stack(g, l.name, len(l.Layers), l.cfg.Dropout, x, func(k int, x *G.Node) (*G.Node, error) {
		dirs := l.Layers[k]
		ys := make([]*G.Node, len(dirs))
		for d, dir := range dirs {
			w, err := dir.bind(g)
			if err != nil {
				return nil, err
			}
			if ys[d], err = g.Ops().LSTM(x, w[0], w[1], w[2], w[3], keep, d == 1); err != nil { // [B,T,H]
				return nil, err
			}
		}
		if len(ys) == 1 {
			return ys[0], nil
		}
		return G.Concat(2, ys...) // [B,T,2H]
	})
	if err != nil {
		return nil, wrap(err)
	}
	return y, nil
}
