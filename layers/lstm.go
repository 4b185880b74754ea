package layers

import (
	"fmt"
	"math"
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
	switch {
	case c.Input <= 0 || c.Hidden <= 0:
		return fmt.Errorf("input and hidden sizes must be positive, got %d and %d", c.Input, c.Hidden)
	case c.Layers <= 0:
		return fmt.Errorf("layers must be positive, got %d", c.Layers)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("dropout %g outside [0, 1)", c.Dropout)
	}
	return nil
}

// Directions returns 2 for a bidirectional LSTM and 1 otherwise.
func (c LSTMConfig) Directions() int {
	if c.Bidirectional {
		return 2
	}
	return 1
}

// LSTMDirection holds the weights of one direction of one layer, with the
// gate blocks stacked [i; f; g; o] as in torch.nn.LSTM.
type LSTMDirection struct {
	WeightIH *nn.Param // [4H, I] (layer 0) or [4H, H·dirs]
	WeightHH *nn.Param // [4H, H]
	BiasIH   *nn.Param // [4H]
	BiasHH   *nn.Param // [4H]
}

// Params returns the weights in PyTorch's order: weight_ih, weight_hh,
// bias_ih, bias_hh.
func (d *LSTMDirection) Params() []*nn.Param {
	return []*nn.Param{d.WeightIH, d.WeightHH, d.BiasIH, d.BiasHH}
}

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
	h := cfg.Hidden
	init := nn.Uniform(1 / math.Sqrt(float64(h)))
	l := &LSTM{cfg: cfg, name: name}
	for k := 0; k < cfg.Layers; k++ {
		in := cfg.Input
		if k > 0 {
			in = h * cfg.Directions()
		}
		var dirs []*LSTMDirection
		for d := 0; d < cfg.Directions(); d++ {
			suffix := fmt.Sprintf("_l%d", k)
			if d == 1 {
				suffix += "_reverse"
			}
			var ps [4]*nn.Param
			for i, p := range []struct {
				name  string
				shape []int
			}{{"weight_ih", []int{4 * h, in}}, {"weight_hh", []int{4 * h, h}}, {"bias_ih", []int{4 * h}}, {"bias_hh", []int{4 * h}}} {
				var err error
				if ps[i], err = newParam(nn.Join(name, p.name+suffix), cfg.Dtype, init, rng, p.shape...); err != nil {
					return nil, fmt.Errorf("layers: lstm %q: %w", name, err)
				}
			}
			dirs = append(dirs, &LSTMDirection{WeightIH: ps[0], WeightHH: ps[1], BiasIH: ps[2], BiasHH: ps[3]})
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
	for k, dirs := range l.Layers {
		ys := make([]*G.Node, len(dirs))
		for d, dir := range dirs {
			ps := make([]*G.Node, 4)
			for i, p := range dir.Params() {
				var err error
				if ps[i], err = g.Param(p); err != nil {
					return nil, wrap(err)
				}
			}
			var err error
			if ys[d], err = g.Ops().LSTM(x, ps[0], ps[1], ps[2], ps[3], keep, d == 1); err != nil { // [B,T,H]
				return nil, wrap(err)
			}
		}
		y := ys[0]
		if len(ys) == 2 {
			var err error
			if y, err = G.Concat(2, ys...); err != nil { // [B,T,2H]
				return nil, wrap(err)
			}
		}
		if k < len(l.Layers)-1 {
			var err error
			if y, err = g.Dropout(nn.Join(l.name, fmt.Sprintf("l%d", k)), y, l.cfg.Dropout); err != nil {
				return nil, wrap(err)
			}
		}
		x = y
	}
	return x, nil
}
