package nn

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is a Gorgonia expression graph being built for one shape, plus the
// bookkeeping qkv needs around it: which parameters are bound into it, its
// inputs, and its dropout masks. Build a Graph once per shape and run it many
// times through a Program.
type Graph struct {
	g        *G.ExprGraph
	dt       tensor.Dtype
	train    bool
	params   []*Param
	nodes    map[*Param]*G.Node
	names    map[string]bool
	dropouts []*dropoutMask
	composed bool     // Ops gives composed twins instead of fused ops
	buf      *Buffers // where the program keeps its op outputs; nil: each op its own
	sizing   bool     // shapes only: no node holds a value (NewSizingGraph)
	leaves   []leaf   // every input, parameter and constant, for verify
	round    int      // SetRound's
}

// NewGraph starts a graph computing in dt (tensor.Float32 or tensor.Float64).
// A training graph applies dropout; an evaluation graph does not.
func NewGraph(dt tensor.Dtype, train bool) (*Graph, error) {
	if err := checkDtype(dt); err != nil {
		return nil, fmt.Errorf("nn: graph: %w", err)
	}
	return &Graph{
		g:     G.NewGraph(),
		dt:    dt,
		train: train,
		nodes: make(map[*Param]*G.Node),
		names: make(map[string]bool),
	}, nil
}

// NewSizingGraph starts a graph that is built like any other but never
// runs: no node holds a value, parameters of any dtype (ShapesOnly ones
// included) bind as shapes, inputs and constants allocate nothing. Its
// Size says what a program compiled from the same graph would hold, at a
// cost that does not depend on the tensors' sizes: for a memory estimate
// made before anything is allocated.
func NewSizingGraph(dt tensor.Dtype, train bool) (*Graph, error) {
	g, err := NewGraph(dt, train)
	if err != nil {
		return nil, err
	}
	g.sizing = true
	return g, nil
}

// Sizing reports whether g is a sizing graph (NewSizingGraph).
func (g *Graph) Sizing() bool { return g.sizing }

// ExprGraph returns the underlying Gorgonia graph.
func (g *Graph) ExprGraph() *G.ExprGraph { return g.g }

// Dtype returns the graph's element type.
func (g *Graph) Dtype() tensor.Dtype { return g.dt }

// Training reports whether this is a training graph (dropout active).
func (g *Graph) Training() bool { return g.train }

// Param returns p's node in this graph, binding p's value on first use. The
// node holds p.Value() itself, not a copy.
func (g *Graph) Param(p *Param) (*G.Node, error) {
	if n, ok := g.nodes[p]; ok {
		return n, nil
	}
	if p.Dtype() != g.dt && !g.sizing {
		return nil, fmt.Errorf("nn: parameter %q is %v, graph is %v", p.name, p.Dtype(), g.dt)
	}
	name := "param." + p.name
	if err := g.claim(name); err != nil {
		return nil, err
	}
	var n *G.Node
	if g.sizing {
		n = g.addLeaf(name, p.Shape(), nil)
	} else {
		n = g.addLeaf(name, p.value.Shape(), p.value)
	}
	g.nodes[p] = n
	g.params = append(g.params, p)
	return n, nil
}

// Params returns the parameters bound into the graph, in binding order.
func (g *Graph) Params() []*Param { return g.params }

// ParamNode returns the node p is bound to, or nil.
func (g *Graph) ParamNode(p *Param) *G.Node { return g.nodes[p] }

// Input adds an input of the given shape and returns its node and the tensor
// it reads: write into the tensor before each run. Token indices and masks
// are inputs too, stored as floats in the graph's dtype. A sizing graph's
// input has no tensor (nil).
func (g *Graph) Input(name string, shape ...int) (*G.Node, *tensor.Dense, error) {
	if err := g.claim("input." + name); err != nil {
		return nil, nil, err
	}
	if g.sizing {
		return g.addLeaf("input."+name, shape, nil), nil, nil
	}
	v := tensor.New(tensor.Of(g.dt), tensor.WithShape(shape...))
	return g.addLeaf("input."+name, shape, v), v, nil
}

// Constant adds a fixed tensor (a sinusoidal table, say) under a unique
// name; Gorgonia would merge unnamed constants that print alike.
func (g *Graph) Constant(name string, v *tensor.Dense) (*G.Node, error) {
	if v.Dtype() != g.dt {
		return nil, fmt.Errorf("nn: constant %q is %v, graph is %v", name, v.Dtype(), g.dt)
	}
	if err := g.claim("const." + name); err != nil {
		return nil, err
	}
	return g.addLeaf("const."+name, v.Shape(), v), nil
}

// ConstantOf adds a fixed tensor of the given shape whose values, in
// row-major order, values computes — only when the graph is to run, not
// in a sizing graph, where a table of any size costs nothing.
func (g *Graph) ConstantOf(name string, shape []int, values func() []float64) (*G.Node, error) {
	if !g.sizing {
		v := tensor.New(tensor.Of(g.dt), tensor.WithShape(shape...))
		FromFloat64s(v, values())
		return g.Constant(name, v)
	}
	if err := g.claim("const." + name); err != nil {
		return nil, err
	}
	return g.addLeaf("const."+name, shape, nil), nil
}

// addLeaf adds an input, parameter or constant node of shape, named name for
// the graph's round (SetRound), holding v (nil in a sizing graph), and
// keeps it for verify.
func (g *Graph) addLeaf(name string, shape []int, v *tensor.Dense) *G.Node {
	name = g.nodeName(name)
	opts := []G.NodeConsOpt{G.WithShape(shape...), G.WithName(name)}
	if v == nil {
		return G.NewTensor(g.g, g.dt, len(shape), opts...)
	}
	n := G.NewTensor(g.g, g.dt, len(shape), append(opts, G.WithValue(v))...)
	g.leaves = append(g.leaves, leaf{n, name, v})
	return n
}

// SetRound names the nodes added after it for round r of building a graph:
// round 0 by their names, round r > 0 with "r@" before them. Gorgonia tells
// nodes apart by a 32-bit FNV-1a hash of their names and operands and
// merges nodes whose hashes collide, which Compile reports as
// ErrCorruptProgram; built again in another round, the graph's hashes are
// all new (see Rebuild). The round goes before the name because FNV-1a
// reads bytes in order: two names that collide still collide with the
// same bytes after them.
func (g *Graph) SetRound(r int) { g.round = r }

// nodeName is name as the node of this round of the graph is named.
func (g *Graph) nodeName(name string) string {
	if g.round == 0 {
		return name
	}
	return fmt.Sprintf("%d@%s", g.round, name)
}

func (g *Graph) claim(name string) error {
	if g.names[name] {
		return fmt.Errorf("nn: duplicate node name %q", name)
	}
	g.names[name] = true
	return nil
}

// dropoutMask is an input filled before each training run with independent
// draws: 0 with probability p, 1/(1−p) otherwise (inverted dropout).
type dropoutMask struct {
	p     float64
	value *tensor.Dense
}

// Dropout applies inverted dropout (Srivastava et al., 2014) to x in a
// training graph and is the identity otherwise. The mask is an input that
// SampleDropout fills from an explicit generator, because Gorgonia's own
// Dropout op has a wrong gradient.
func (g *Graph) Dropout(name string, x *G.Node, p float64) (*G.Node, error) {
	if p < 0 || p >= 1 {
		return nil, fmt.Errorf("nn: dropout %q: rate %g outside [0, 1)", name, p)
	}
	if !g.train || p == 0 {
		return x, nil
	}
	m, v, err := g.Input("dropout."+name, x.Shape()...)
	if err != nil {
		return nil, err
	}
	g.dropouts = append(g.dropouts, &dropoutMask{p: p, value: v})
	return G.HadamardProd(x, m)
}

// SampleDropout draws fresh dropout masks from rng. Call it before each
// training run; the draws happen in graph-building order, so a seeded rng
// gives the same masks every time.
func (g *Graph) SampleDropout(rng *rand.Rand) {
	for _, d := range g.dropouts {
		if d.value == nil { // a sizing graph's
			continue
		}
		keep := 1 / (1 - d.p)
		switch s := d.value.Data().(type) {
		case []float32:
			for i := range s {
				s[i] = 0
				if rng.Float64() >= d.p {
					s[i] = float32(keep)
				}
			}
		case []float64:
			for i := range s {
				s[i] = 0
				if rng.Float64() >= d.p {
					s[i] = keep
				}
			}
		}
	}
}
