package nn

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The primitive layer. Each primitive is a customOp (see op.go) whose
// backward pass is written once, beside its forward, in terms of other
// primitives or of one small kernel. A layer composed of primitives needs
// no backward code: Gorgonia chains the primitives' derivatives. The fused
// ops (Linear, LayerNorm, MaskedSoftmax, …) are fast paths for what the
// models run most; each has a composed twin (twin.go) that a test proves
// equal to it.
//
// Element-wise primitives of two or more operands broadcast as NumPy and
// PyTorch do: shapes are aligned on their last axis, and an axis of size 1
// (or a missing leading axis) is repeated to match the other operand. The
// gradient with respect to a broadcast operand is summed back to its shape.
//
// Gorgonia's own ops are not used here: its InverseSqrt and Dropout have
// wrong gradients, its broadcasting takes explicit patterns, and its
// BatchedMatMul rejects a 3-D × 2-D product; a kernel of our own over the
// same customOp is a few lines and holds one convention throughout.

// primitiveNames lists every primitive: the exported functions of the
// prim_*.go files, plus ReLU and GELU (act_op.go), which are primitives and
// fused ops at once, and Graph.Dropout (graph.go). TestPrimitives walks a
// table of cases and fails unless it covers exactly these names, and
// TestPrimitiveRegistry fails if a prim_*.go file exports one not listed.
func primitiveNames() []string {
	return []string{
		"MatMul",
		"Plus", "Minus", "Times", "Divide", "Neg", "Scale", "Shift",
		"Exp", "Log", "Sqrt", "Rsqrt", "Tanh", "Sigmoid", "Erf", "Step", "ReLU", "GELU",
		"Softmax", "LogSoftmax", "Sum", "Mean", "Max", "BroadcastTo",
		"Reshape", "Permute", "Transpose", "Slice", "Split", "Concat",
		"Where", "MaskedFill", "Gather", "OneHot", "Dropout",
	}
}

// broadcastShape returns the shape of an element-wise result of operands of
// shapes in, aligned on their last axis.
func broadcastShape(in ...tensor.Shape) (tensor.Shape, error) {
	n := 0
	for _, s := range in {
		n = max(n, len(s))
	}
	out := make(tensor.Shape, n)
	for i := range out {
		out[i] = 1
	}
	for _, s := range in {
		for i, d := range s {
			j := n - len(s) + i
			switch {
			case d == out[j] || d == 1:
			case out[j] == 1:
				out[j] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", in)
			}
		}
	}
	return out, nil
}

// bstrides returns, for each axis of out, the step in the flat data of a
// tensor of shape in when that axis advances by one: 0 where in is
// broadcast along it (size 1 or missing).
func bstrides(in, out tensor.Shape) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		if in[i] != 1 {
			st[len(out)-len(in)+i] = s
		}
		s *= in[i]
	}
	return st
}

// walk calls f once for each element of a tensor of shape out, in row-major
// order, with its flat index and the flat index into each operand whose
// strides (from bstrides) are given.
func walk(out tensor.Shape, strides [][]int, f func(o int, idx []int)) {
	n := out.TotalSize()
	if len(out) == 0 {
		n = 1
	}
	idx := make([]int, len(strides))
	pos := make([]int, len(out))
	for o := 0; o < n; o++ {
		f(o, idx)
		for ax := len(out) - 1; ax >= 0; ax-- {
			pos[ax]++
			for k, st := range strides {
				idx[k] += st[ax]
			}
			if pos[ax] < out[ax] {
				break
			}
			for k, st := range strides {
				idx[k] -= st[ax] * out[ax]
			}
			pos[ax] = 0
		}
	}
}

// size is the number of elements of a shape, 1 for a scalar.
func size(s tensor.Shape) int {
	if len(s) == 0 {
		return 1
	}
	return s.TotalSize()
}

// fixed returns a shape function giving s whatever the inputs.
func fixed(s tensor.Shape) func([]tensor.Shape) (tensor.Shape, error) {
	s = s.Clone()
	return func([]tensor.Shape) (tensor.Shape, error) { return s.Clone(), nil }
}

// reduceTo sums x over the axes along which a tensor of shape to was
// broadcast to x's shape: the gradient of broadcasting. It returns x itself
// when the shapes are equal.
func reduceTo(x *G.Node, to tensor.Shape) (*G.Node, error) {
	xs := x.Shape()
	if slices.Equal(xs, to) {
		return x, nil
	}
	if b, err := broadcastShape(to, xs); err != nil || !slices.Equal(b, xs) {
		return nil, fmt.Errorf("nn: reduce: cannot sum %v to %v", xs, to)
	}
	return sumInto(x, to, to)
}

// sumInto sums x into a tensor of shape keep (x's shape with the summed
// axes of size 1, or missing at the front) and gives it shape out, which
// has keep's elements in the same order.
func sumInto(x *G.Node, keep, out tensor.Shape) (*G.Node, error) {
	xs := x.Shape().Clone()
	keep, out = keep.Clone(), out.Clone()
	op := &customOp{
		name:    fmt.Sprintf("SumInto%v%v", keep, out),
		inDims:  dimsOf(x),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(sumIntoFwd[float32](keep), sumIntoFwd[float64](keep)),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gk, err := Reshape(gy, keep...)
			if err != nil {
				return nil, err
			}
			gx, err := BroadcastTo(gk, xs...)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func sumIntoFwd[T Float](keep tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		clear(y)
		x := in[0]
		walk(s[0], [][]int{bstrides(keep, s[0])}, func(o int, idx []int) { y[idx[0]] += x[o] })
		return nil
	}
}

// BroadcastTo repeats x along the axes where it has size 1, and in front,
// to the given shape: x [1, 3] → [2, 4, 3], say. Its gradient sums back.
func BroadcastTo(x *G.Node, shape ...int) (*G.Node, error) {
	xs, to := x.Shape().Clone(), tensor.Shape(shape).Clone()
	if b, err := broadcastShape(xs, to); err != nil || !slices.Equal(b, to) {
		return nil, fmt.Errorf("nn: broadcast: cannot broadcast %v to %v", xs, to)
	}
	op := &customOp{
		name:    fmt.Sprintf("BroadcastTo%v", to),
		inDims:  dimsOf(x),
		outDims: len(to),
		shape:   fixed(to),
		k:       kernelOf(broadcastFwd[float32](to), broadcastFwd[float64](to)),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := reduceTo(gy, xs)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func broadcastFwd[T Float](to tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x := in[0]
		walk(to, [][]int{bstrides(s[0], to)}, func(o int, idx []int) { y[o] = x[idx[0]] })
		return nil
	}
}
