package nn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled Graph: a tape machine, the loss and (for training)
// the gradient of every bound parameter, plus any outputs asked for. Running
// it never rebuilds the graph.
type Program struct {
	g       *Graph
	vm      G.VM
	loss    *G.Value // where the loss is read into after each run; nil without a loss
	grads   []G.Value
	outputs []G.Value
	outNode []*G.Node
	bufLen  int // elements of the graph's shared buffers the ops take
}

// gradMu serialises G.Grad. Every call adds one of Gorgonia's package-level
// constants (onef32 or onef64, the loss's seed gradient) to its graph, and
// the first call writes that node's cached hash: two graphs built at once in
// separate goroutines (parallel tests, or two models trained side by side)
// race on it. Building a graph is done once per shape, so the lock costs
// nothing that matters.
var gradMu sync.Mutex

func grad(loss *G.Node, wrt G.Nodes) (G.Nodes, error) {
	gradMu.Lock()
	defer gradMu.Unlock()
	return G.Grad(loss, wrt...)
}

// Compile builds a machine for g. If loss is not nil its value is read after
// each run; if withGrads is true the gradient of loss with respect to every
// bound parameter is computed too (see Grads). outputs are extra nodes whose
// values are read after each run (logits, attention weights).
//
// Gradients are read into buffers owned by the Program rather than bound as
// dual values, so they never accumulate across runs.
func Compile(g *Graph, loss *G.Node, withGrads bool, outputs ...*G.Node) (*Program, error) {
	if g.sizing {
		return nil, errors.New("nn: compile: a sizing graph holds no values to run (see Size)")
	}
	p := &Program{g: g, outNode: outputs}
	var gn G.Nodes
	if withGrads {
		if loss == nil {
			return nil, errors.New("nn: compile: gradients need a loss")
		}
		wrt := make(G.Nodes, len(g.params))
		for i, q := range g.params {
			wrt[i] = g.nodes[q]
		}
		var err error
		if gn, err = grad(loss, wrt); err != nil {
			return nil, fmt.Errorf("nn: compile: gradient: %w", err)
		}
	}
	// The values a caller reads are copied out of the graph by Read nodes,
	// each at an address that gives it a hash of its own (readInto).
	taken := nodeHashes(g)
	p.grads = make([]G.Value, len(gn))
	for i, n := range gn {
		p.grads[i] = tensor.New(tensor.Of(g.dt), tensor.WithShape(g.params[i].Shape()...))
		readInto(n, p.grads[i], taken)
	}
	if loss != nil {
		var v G.Value = tensor.New(tensor.Of(g.dt), tensor.WithShape(1))
		if loss.Shape().IsScalar() {
			v = nil // Read allocates a scalar value of its own once.
		}
		p.loss = readInto(loss, v, taken)
	}
	p.outputs = make([]G.Value, len(outputs))
	for i, n := range outputs {
		p.outputs[i] = tensor.New(tensor.Of(g.dt), tensor.WithShape(n.Shape()...))
		readInto(n, p.outputs[i], taken)
	}
	needed := slices.Concat(outputs, gn)
	if loss != nil {
		needed = append(needed, loss)
	}
	p.bufLen = layout(g)
	p.vm = G.NewTapeMachine(g.g)
	if err := verify(g, p.vm, needed); err != nil {
		p.Close()
		return nil, fmt.Errorf("nn: compile: %w", err)
	}
	return p, nil
}

// Run executes the program once. Inputs and dropout masks must be filled first.
func (p *Program) Run() error {
	if err := p.g.checkLeaves(); err != nil {
		return fmt.Errorf("nn: run: %w", err)
	}
	defer p.vm.Reset()
	p.reserveBuffers()
	if err := p.vm.RunAll(); err != nil {
		return fmt.Errorf("nn: run: %w", err)
	}
	return nil
}

// reserveBuffers makes the buffers the program shares (Graph.ShareBuffers)
// hold its op outputs. Without shared buffers it does nothing.
func (p *Program) reserveBuffers() {
	if p.bufLen > 0 {
		p.g.buf.reserve(p.g.dt, p.bufLen)
	}
}

// Loss returns the loss computed by the last run, or NaN for a program
// compiled without a loss.
func (p *Program) Loss() float64 {
	if p.loss == nil || *p.loss == nil {
		return math.NaN()
	}
	switch v := (*p.loss).Data().(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case []float64:
		return v[0]
	case []float32:
		return float64(v[0])
	}
	return math.NaN()
}

// Grads returns the gradient of each parameter of Graph.Params from the last
// run, in the same order. The tensors are reused by the next run.
func (p *Program) Grads() []*tensor.Dense {
	out := make([]*tensor.Dense, len(p.grads))
	for i, v := range p.grads {
		out[i] = v.(*tensor.Dense)
	}
	return out
}

// Output returns the value of the i-th output node from the last run. The
// tensor is reused by the next run.
func (p *Program) Output(i int) *tensor.Dense { return p.outputs[i].(*tensor.Dense) }

// Graph returns the graph the program runs.
func (p *Program) Graph() *Graph { return p.g }

// Close releases the machine.
//
// Gorgonia's NewTapeMachine sets a finalizer (a no-op without CUDA) on a
// machine that sits in a reference cycle, and the collector never frees an
// object with a finalizer in a cycle: every closed program would keep its
// machine and all its buffers for good. Close clears it.
func (p *Program) Close() error {
	err := p.vm.Close()
	runtime.SetFinalizer(p.vm, nil)
	return err
}
