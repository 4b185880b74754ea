package nn

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestSize: a sizing graph of ShapesOnly parameters and inputs holds no
// value and cannot be compiled; its Size counts what the same graph built
// to run holds — every node's elements but the parameters', and the
// program's gradient and output buffers — node for node.
func TestSize(t *testing.T) {
	build := func(g *Graph, dt tensor.Dtype) (*G.Node, *G.Node) {
		w, err := NewParam("w", dt, 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		if err := Normal(1)(w, rand.New(rand.NewPCG(1, 2))); err != nil {
			t.Fatal(err)
		}
		wn, err := g.Param(w)
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := g.Input("x", 4, 3)
		if err != nil {
			t.Fatal(err)
		}
		c, err := g.ConstantOf("c", []int{4, 5}, func() []float64 { return make([]float64, 20) })
		if err != nil {
			t.Fatal(err)
		}
		y, err := MatMul(x, wn, false, true) // [4,5]
		if err == nil {
			y, err = Plus(y, c)
		}
		if err == nil {
			y, err = Tanh(y)
		}
		if err != nil {
			t.Fatal(err)
		}
		loss, err := Sum(y, false, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return loss, y
	}
	s, err := NewSizingGraph(tensor.Float32, true)
	if err != nil {
		t.Fatal(err)
	}
	loss, y := build(s, ShapesOnly)
	for _, n := range s.ExprGraph().AllNodes() {
		if n.Value() != nil {
			t.Errorf("sizing graph: node %v holds a value", n)
		}
	}
	if _, err := Compile(s, loss, true, y); err == nil {
		t.Error("Compile of a sizing graph: nil error")
	}
	got, err := Size(s, loss, true, y)
	if err != nil {
		t.Fatal(err)
	}

	r, err := NewGraph(tensor.Float32, true)
	if err != nil {
		t.Fatal(err)
	}
	loss, y = build(r, tensor.Float32)
	p, err := Compile(r, loss, true, y)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want := GraphSize{Nodes: len(r.ExprGraph().AllNodes())}
	for _, n := range r.ExprGraph().AllNodes() {
		if n != r.ParamNode(r.Params()[0]) {
			want.Elems += int64(max(1, n.Shape().TotalSize()))
		}
	}
	want.Elems += 15 + 20 // the gradient buffer of w [5,3], the output buffer of y [4,5]
	if got != want {
		t.Errorf("Size = %+v, the graph built to run holds %+v", got, want)
	}
}
