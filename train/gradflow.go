package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/nn"
)

// GradientProbe measures how the loss at one position depends on the
// input at every other: for a tagging model and an example, the norm
// ‖∂L_j/∂x_i‖ of the gradient of the loss at position j with respect to
// x_i, the encoder's input at position i (the embedding, after the
// positions for a transformer). It is the measure behind the claim that
// back-propagation through time lets gradients vanish with distance while
// attention links every pair of positions directly.
//
// The probe works on a float64 copy of the model taken when it is made, so
// training the model afterwards does not change it, and runs without
// dropout, one example at a time. It adds a zero offset δ [1,T,D] to the
// encoder's input, x' = x + δ, and marks every target but j's data.Ignore,
// so the loss is exactly L_j and row i of ∂L/∂δ is ∂L_j/∂x_i.
type GradientProbe struct {
	model   *Model
	graphs  map[int]*probeGraph // by length
	scratch []float64
}

// probeGraph is the probe's graph for one length, with its offset.
type probeGraph struct {
	graph *Graph
	delta int // index of δ's gradient in graph.Prog.Grads
}

// NewGradientProbe returns a probe of a float64 copy of m, a tagging model.
func NewGradientProbe(m *Model) (*GradientProbe, error) {
	if m.cfg.Kind != data.Tagging {
		return nil, fmt.Errorf("train: gradient probe: needs a tagging model, got %v", m.cfg.Kind)
	}
	cfg := m.cfg
	cfg.Dtype, cfg.Dropout = Float64, 0
	c, err := NewModel(cfg, rand.New(rand.NewPCG(0, 0))) // every weight is overwritten below
	if err != nil {
		return nil, err
	}
	src, dst := m.Params(), c.Params()
	for i, p := range src {
		if err := dst[i].SetFloat64s(p.Float64s()); err != nil {
			return nil, fmt.Errorf("train: gradient probe: %w", err)
		}
	}
	return &GradientProbe{model: c, graphs: make(map[int]*probeGraph)}, nil
}

func (p *GradientProbe) graph(t int) (*probeGraph, error) {
	if pg, ok := p.graphs[t]; ok {
		return pg, nil
	}
	delta, err := nn.NewParam("probe.delta", Float64.Tensor(), 1, t, p.model.cfg.DModel)
	if err != nil {
		return nil, err
	}
	g, err := p.model.build(1, t, gradientProbe, delta, nil)
	if err != nil {
		return nil, err
	}
	pg := &probeGraph{graph: g, delta: -1}
	for i, q := range g.Params() {
		if q == delta {
			pg.delta = i
		}
	}
	if pg.delta < 0 {
		g.Close()
		return nil, fmt.Errorf("train: gradient probe: the offset is not bound into the graph")
	}
	p.graphs[t] = pg
	return pg, nil
}

// Norms returns ‖∂L_j/∂x_i‖ for ex as rows j of columns i, [T][T]; row j
// is nil where ex's target j is data.Ignore, since there is no L_j.
func (p *GradientProbe) Norms(ex data.Example) ([][]float64, error) {
	t := len(ex.Input)
	if t == 0 || len(ex.Target) != t {
		return nil, fmt.Errorf("train: gradient probe: want a tagging example, got %d inputs and %d targets", t, len(ex.Target))
	}
	pg, err := p.graph(t)
	if err != nil {
		return nil, err
	}
	g := pg.graph
	if len(p.scratch) < t {
		p.scratch = make([]float64, t)
	}
	batch, err := data.MakeBatch(data.Tagging, []data.Example{ex}, 1, t)
	if err != nil {
		return nil, err
	}
	if err := g.Load(batch, p.scratch); err != nil {
		return nil, err
	}
	d := p.model.cfg.DModel
	out := make([][]float64, t)
	targets := g.Targets.Data().([]float64) // float64: the probe's dtype
	for j := range t {
		if ex.Target[j] == data.Ignore {
			continue
		}
		for i := range targets {
			targets[i] = data.Ignore
		}
		targets[j] = float64(ex.Target[j])
		if err := g.Prog.Run(); err != nil {
			return nil, err
		}
		grad := g.Prog.Grads()[pg.delta].Data().([]float64) // [1,T,D]
		row := make([]float64, t)
		for i := range t {
			s := 0.0
			for _, v := range grad[i*d : (i+1)*d] {
				s += v * v
			}
			row[i] = math.Sqrt(s)
		}
		out[j] = row
	}
	return out, nil
}

// Saliency returns Norms for ex with each row scaled to sum to 1, shaped
// as one layer of one head's attention weights, [1][1][T][T], so that an
// Alignment can score where the loss at each position draws its gradient
// from as it scores where a head looks. Rows without a loss are zero.
func (p *GradientProbe) Saliency(ex data.Example) ([][][][]float64, error) {
	n, err := p.Norms(ex)
	if err != nil {
		return nil, err
	}
	for j, row := range n {
		if row == nil {
			n[j] = make([]float64, len(ex.Input))
			continue
		}
		s := 0.0
		for _, v := range row {
			s += v
		}
		if s > 0 {
			for i := range row {
				row[i] /= s
			}
		}
	}
	return [][][][]float64{{n}}, nil
}

// Close releases the probe's graphs.
func (p *GradientProbe) Close() error {
	var first error
	for t, pg := range p.graphs {
		if err := pg.graph.Close(); err != nil && first == nil {
			first = err
		}
		delete(p.graphs, t)
	}
	return first
}
