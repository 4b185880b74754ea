package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// What the LSTM and the GRU share: their sizes' checks, their weights'
// names, layout and initialisation (PyTorch's), their stacking with
// dropout between layers.

// validateRecurrent reports recurrent sizes that cannot be built.
func validateRecurrent(input, hidden, layers int, dropout float64) error {
	switch {
	case input <= 0 || hidden <= 0:
		return fmt.Errorf("input and hidden sizes must be positive, got %d and %d", input, hidden)
	case layers <= 0:
		return fmt.Errorf("layers must be positive, got %d", layers)
	case dropout < 0 || dropout >= 1:
		return fmt.Errorf("dropout %g outside [0, 1)", dropout)
	}
	return nil
}

// RecurrentWeights holds the weights of one recurrent layer (one
// direction of an LSTM layer), the gate blocks stacked as PyTorch stacks
// them: [i; f; g; o] for an LSTM, [r; z; n] for a GRU, G gates of width H.
type RecurrentWeights struct {
	WeightIH *nn.Param // [G·H, I] (layer 0) or [G·H, H·directions]
	WeightHH *nn.Param // [G·H, H]
	BiasIH   *nn.Param // [G·H]
	BiasHH   *nn.Param // [G·H]
}

// Params returns the weights in PyTorch's order: weight_ih, weight_hh,
// bias_ih, bias_hh.
func (w *RecurrentWeights) Params() []*nn.Param {
	return []*nn.Param{w.WeightIH, w.WeightHH, w.BiasIH, w.BiasHH}
}

// newRecurrentWeights makes the weights of one layer (direction) of gates
// blocks of width h over inputs of width in, named as PyTorch names them
// (name.weight_ih{suffix}, …, suffix "_l0" or "_l0_reverse") and drawn, in
// that order, from U(−1/√h, 1/√h) as PyTorch draws them.
func newRecurrentWeights(name, suffix string, gates, in, h int, dt tensor.Dtype, rng *rand.Rand) (*RecurrentWeights, error) {
	init := nn.Uniform(1 / math.Sqrt(float64(h)))
	var ps [4]*nn.Param
	for i, p := range []struct {
		name  string
		shape []int
	}{{"weight_ih", []int{gates * h, in}}, {"weight_hh", []int{gates * h, h}}, {"bias_ih", []int{gates * h}}, {"bias_hh", []int{gates * h}}} {
		var err error
		if ps[i], err = newParam(nn.Join(name, p.name+suffix), dt, init, rng, p.shape...); err != nil {
			return nil, err
		}
	}
	return &RecurrentWeights{WeightIH: ps[0], WeightHH: ps[1], BiasIH: ps[2], BiasHH: ps[3]}, nil
}

// bind returns the nodes of w's weights in g, in Params' order.
func (w *RecurrentWeights) bind(g *nn.Graph) ([4]*G.Node, error) {
	var ns [4]*G.Node
	for i, p := range w.Params() {
		var err error
		if ns[i], err = g.Param(p); err != nil {
			return ns, err
		}
	}
	return ns, nil
}

// stack runs layer over x for each of n layers, with dropout named
// name.l{k} on the output of every layer but the last.
func stack(g *nn.Graph, name string, n int, dropout float64, x *G.Node, layer func(k int, x *G.Node) (*G.Node, error)) (*G.Node, error) {
	for k := range n {
		var err error
		if x, err = layer(k, x); err != nil {
			return nil, err
		}
		if k < n-1 {
			if x, err = g.Dropout(nn.Join(name, fmt.Sprintf("l%d", k)), x, dropout); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}
