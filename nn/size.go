package nn

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
)

// GraphSize is what the program compiled from a graph holds while it runs.
type GraphSize struct {
	// Elems counts the elements of every value a run holds: each input
	// and constant, each op's output (a training graph's backward ops
	// included: Gorgonia's tape machine keeps every node's value for the
	// whole run), and the program's buffers for the gradients and the
	// outputs it reads back. Parameters live outside the graph and are
	// not counted.
	Elems int64
	// Nodes counts the graph's nodes, gradient nodes included: each costs
	// its bookkeeping (the node, its type and shape, its instructions)
	// whatever its size.
	Nodes int
}

// Size returns what Compile(g, loss, withGrads, outputs...) and a run of
// its program would hold, without compiling or running: made for a sizing
// graph (NewSizingGraph), whose shapes cost nothing to build at sizes no
// machine holds. Like Compile it adds the gradient nodes to g; g is then
// done with.
func Size(g *Graph, loss *G.Node, withGrads bool, outputs ...*G.Node) (GraphSize, error) {
	var s GraphSize
	if withGrads {
		if loss == nil {
			return s, errors.New("nn: size: gradients need a loss")
		}
		wrt := make(G.Nodes, len(g.params))
		for i, q := range g.params {
			wrt[i] = g.nodes[q]
			s.Elems += int64(q.Shape().TotalSize()) // the program's gradient buffer
		}
		if _, err := grad(loss, wrt); err != nil {
			return s, fmt.Errorf("nn: size: gradient: %w", err)
		}
	}
	params := make(map[*G.Node]bool, len(g.nodes))
	for _, n := range g.nodes {
		params[n] = true
	}
	for _, n := range outputs {
		s.Elems += int64(n.Shape().TotalSize()) // the buffer Output reads into
	}
	// Compile adds a read of each gradient, of the loss and of each
	// output: a node each, of no value to speak of.
	reads := len(outputs)
	if withGrads {
		reads += len(g.params)
	}
	if loss != nil {
		reads++
	}
	all := g.g.AllNodes()
	s.Nodes = len(all) + reads
	s.Elems += int64(reads)
	for _, n := range all {
		if !params[n] {
			s.Elems += int64(max(1, n.Shape().TotalSize()))
		}
	}
	return s, nil
}
