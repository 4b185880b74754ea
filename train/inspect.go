package train

import (
	"fmt"

	"github.com/qkv-dev/qkv/nn"
	"gorgonia.org/tensor"
)

// Inspection is what one input sequence does inside each attention layer
// of a transformer: the queries and keys of every head and the weights
// softmax(q_i·k_j/√d_k) they give.
type Inspection struct {
	Weights [][][][]float64 // [layer][head][query][key]
	Q, K    [][][][]float64 // [layer][head][position][d_k]
}

// HasAttention reports whether m's backbone computes attention weights,
// as a transformer's does; for the others (the LSTM) GradientProbe
// measures what plays their part.
func (m *Model) HasAttention() bool {
	_, ok := m.Backbone.(inspectable)
	return ok
}

// Inspect runs one input sequence through a graph of its own, built for
// this call from the model's layers with the queries and keys read out
// beside the weights; the training and evaluation graphs are untouched.
// The input is checked as Predict checks each of its inputs. A model
// without attention (an LSTM) gives an error wrapping ErrNoAttention.
func (e *Evaluator) Inspect(input []int) (*Inspection, error) {
	if err := e.stopped("inspect"); err != nil {
		return nil, err
	}
	m := e.model
	tb, ok := m.Backbone.(inspectable)
	if !ok {
		return nil, fmt.Errorf("train: inspect: %w", ErrNoAttention)
	}
	if _, err := e.unscored(input); err != nil {
		return nil, fmt.Errorf("train: inspect: %w", err)
	}
	t := len(input)
	if _, err := e.rows(t, true); err != nil {
		return nil, err
	}
	type built struct {
		prog       *nn.Program
		idv, keepv *tensor.Dense
		layers     int
	}
	b, err := nn.Rebuild(func(round int) (built, error) {
		g, err := nn.NewGraph(m.cfg.Dtype.Tensor(), false)
		if err != nil {
			return built{}, err
		}
		g.SetRound(round)
		ids, idv, err := g.Input("ids", 1, t)
		if err != nil {
			return built{}, err
		}
		keep, keepv, err := g.Input("keep", 1, t)
		if err != nil {
			return built{}, err
		}
		x, err := m.Embed.Forward(g, ids) // [1,T,D]
		if err != nil {
			return built{}, err
		}
		outs, err := tb.inspect(g, x, keep) // q, k, weights of each layer
		if err != nil {
			return built{}, err
		}
		prog, err := nn.Compile(g, nil, false, outs...)
		return built{prog, idv, keepv, len(outs) / 3}, err
	})
	if err != nil {
		return nil, err
	}
	prog, idv, keepv := b.prog, b.idv, b.keepv
	defer prog.Close()
	in, ones := make([]float64, t), make([]float64, t)
	for i, id := range input {
		in[i], ones[i] = float64(id), 1
	}
	nn.FromFloat64s(idv, in)
	nn.FromFloat64s(keepv, ones)
	if err := prog.Run(); err != nil {
		return nil, err
	}
	h := m.cfg.Heads
	dk := m.cfg.DModel / h
	ins := &Inspection{}
	for l := range b.layers {
		q, k := nn.ToFloat64s(prog.Output(3*l)), nn.ToFloat64s(prog.Output(3*l+1)) // [1,T,D]
		w := nn.ToFloat64s(prog.Output(3*l + 2))                                   // [1,H,T,T]
		ql, kl, wl := make([][][]float64, h), make([][][]float64, h), make([][][]float64, h)
		for i := range h {
			ql[i], kl[i], wl[i] = make([][]float64, t), make([][]float64, t), make([][]float64, t)
			for p := range t {
				ql[i][p] = q[p*h*dk+i*dk : p*h*dk+(i+1)*dk]
				kl[i][p] = k[p*h*dk+i*dk : p*h*dk+(i+1)*dk]
				wl[i][p] = w[(i*t+p)*t : (i*t+p+1)*t]
			}
		}
		ins.Q, ins.K, ins.Weights = append(ins.Q, ql), append(ins.K, kl), append(ins.Weights, wl)
	}
	return ins, nil
}
