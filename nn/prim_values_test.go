package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// forward runs a float64 graph once and returns the values of y.
func forward(t *testing.T, build func(g *Graph, in func(shape []int, v ...float64) *G.Node) (*G.Node, error)) ([]float64, tensor.Shape) {
	t.Helper()
	g, err := NewGraph(tensor.Float64, false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	in := func(shape []int, v ...float64) *G.Node {
		n++
		node, val, err := g.Input(string(rune('a'+n)), shape...)
		if err != nil {
			t.Fatal(err)
		}
		FromFloat64s(val, v)
		return node
	}
	y, err := build(g, in)
	if err != nil {
		t.Fatal(err)
	}
	prog := runOnce(t, g, nil, false, y)
	out := prog.Output(0)
	return ToFloat64s(out), out.Shape()
}

// TestPrimitiveValues checks the forward values of the primitives against
// numbers worked out by hand, so that a gradient consistent with a wrong
// forward cannot pass (TestPrimitives checks only their agreement).
func TestPrimitiveValues(t *testing.T) {
	type build = func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error)
	s := func(d ...int) []int { return d }
	e, l2 := math.E, math.Ln2
	sm := func(a, b float64) (float64, float64) {
		z := math.Exp(a) + math.Exp(b)
		return math.Exp(a) / z, math.Exp(b) / z
	}
	s00, s01 := sm(1, 2)
	for _, c := range []struct {
		name  string
		build build
		shape []int
		want  []float64
	}{
		{"Minus broadcast", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			return Minus(in(s(2, 1), 1, 2), in(s(3), 10, 20, 30))
		}, s(2, 3), []float64{-9, -19, -29, -8, -18, -28}},
		{"Divide broadcast", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			return Divide(in(s(2), 1, 2), in(s(2, 1), 2, 4))
		}, s(2, 2), []float64{0.5, 1, 0.25, 0.5}},
		{"Plus, Times", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			p, err := Plus(in(s(1, 2), 1, 2), in(s(2, 1), 10, 20))
			if err != nil {
				return nil, err
			}
			return Times(p, in(s(2), 2, -1))
		}, s(2, 2), []float64{22, -12, 42, -22}},
		{"unary", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			x := in(s(1), 4)
			var parts []*G.Node
			for _, f := range []func(*G.Node) (*G.Node, error){Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Erf, Step,
				func(x *G.Node) (*G.Node, error) { return Scale(x, 3) }, func(x *G.Node) (*G.Node, error) { return Shift(x, -5) }} {
				y, err := f(x)
				if err != nil {
					return nil, err
				}
				parts = append(parts, y)
			}
			return Concat(0, parts...)
		}, s(11), []float64{-4, math.Pow(e, 4), 2 * l2, 2, 0.5, math.Tanh(4), 1 / (1 + math.Exp(-4)), math.Erf(4), 1, 12, -1}},
		{"MatMul transposed, shared", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			// a[0] = [[1,3],[2,4]]ᵀ stored, so op(a[0]) = [[1,2],[3,4]]; a[1] = identity
			a := in(s(2, 2, 2), 1, 3, 2, 4, 1, 0, 0, 1)
			b := in(s(2, 2), 5, 7, 6, 8) // op(b) = [[5,6],[7,8]]
			return MatMul(a, b, true, true)
		}, s(2, 2, 2), []float64{19, 22, 43, 50, 5, 6, 7, 8}},
		{"Softmax axis 0", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			return Softmax(in(s(2, 2), 1, 0, 2, 0), 0)
		}, s(2, 2), []float64{s00, 0.5, s01, 0.5}},
		{"LogSoftmax", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			return LogSoftmax(in(s(1, 2), 0, 0), 1)
		}, s(1, 2), []float64{-l2, -l2}},
		{"Sum, Mean, Max", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			x := in(s(2, 3), 1, 5, 3, 4, 2, 6)
			a, err := Sum(x, false, 1)
			if err != nil {
				return nil, err
			}
			b, err := Mean(x, false, 0)
			if err != nil {
				return nil, err
			}
			c, err := Max(x, false, -1)
			if err != nil {
				return nil, err
			}
			return Concat(0, a, b, c)
		}, s(7), []float64{9, 12, 2.5, 3.5, 4.5, 5, 6}},
		{"Permute, Reshape", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			p, err := Permute(in(s(2, 3), 1, 2, 3, 4, 5, 6), 1, 0)
			if err != nil {
				return nil, err
			}
			return Reshape(p, 2, -1)
		}, s(2, 3), []float64{1, 4, 2, 5, 3, 6}},
		{"Slice, Concat", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			x := in(s(2, 3), 1, 2, 3, 4, 5, 6)
			a, err := Slice(x, 1, 1, 3)
			if err != nil {
				return nil, err
			}
			return Concat(1, a, x)
		}, s(2, 5), []float64{2, 3, 1, 2, 3, 5, 6, 4, 5, 6}},
		{"Where, MaskedFill", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			w, err := Where(in(s(2, 1), 1, 0), in(s(2), 1, 2), in(s(1), 9))
			if err != nil {
				return nil, err
			}
			return MaskedFill(w, in(s(2), 0, 1), -7)
		}, s(2, 2), []float64{1, -7, 9, -7}},
		{"Gather, OneHot, BroadcastTo", func(g *Graph, in func([]int, ...float64) *G.Node) (*G.Node, error) {
			ids := in(s(2), 2, 0)
			a, err := Gather(in(s(3, 2), 1, 2, 3, 4, 5, 6), ids)
			if err != nil {
				return nil, err
			}
			b, err := OneHot(in(s(2), 1, -1), 2)
			if err != nil {
				return nil, err
			}
			c, err := BroadcastTo(in(s(1, 1), 8), 2, 2)
			if err != nil {
				return nil, err
			}
			return Concat(0, a, b, c)
		}, s(6, 2), []float64{5, 6, 1, 2, 0, 1, 0, 0, 8, 8, 8, 8}},
	} {
		got, shape := forward(t, c.build)
		if !shape.Eq(tensor.Shape(c.shape)) {
			t.Errorf("%s: shape %v, want %v", c.name, shape, c.shape)
			continue
		}
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-12*math.Max(1, math.Abs(c.want[i])) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}
