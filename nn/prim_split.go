package nn

import (
	"fmt"
	"sync/atomic"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// splits numbers the Splits of the process, whose ops are named by it: two
// Splits of one node must be two nodes (Gorgonia merges nodes that hash
// alike), and a number, unlike an address, hashes the same in every run of
// the same program.
var splits atomic.Uint64

// Split returns the n slices of x along axis ax, that axis dropped, as
// torch.unbind: for x [B,T,W] and ax 1, T tensors x[:, t] [B,W]. It
// computes what n Slices and Reshapes would, but its gradient costs
// O(size of x), not O(n · size of x).
//
// A node's gradients from its consumers are summed, each of the node's
// full shape: n Slices of x would each add a gradient of x's size, n of
// them — a recurrence over T steps that slices its inputs step by step
// would cost O(T²) backward. Split's pieces instead carry no gradient to x
// directly. Each also reads an anchor, a scalar 0 computed from x, and
// it is through the anchor that x's gradient flows: Gorgonia
// differentiates every piece before the anchor (the pieces consume it),
// each piece hands its gradient to the anchor, and the anchor's derivative
// with respect to x is those gradients stacked back along ax, one node of
// x's size. The pieces' derivatives with respect to the anchor are zeros
// (scalars), as the anchor adds nothing to their values.
//
// The gradient is exact; the gradient of that gradient (second order) is
// not supported.
func Split(x *G.Node, ax int) ([]*G.Node, error) {
	xs := x.Shape().Clone()
	ax, err := axis(ax, len(xs))
	if err != nil {
		return nil, fmt.Errorf("nn: split: %w", err)
	}
	n := xs[ax]
	piece := append(xs[:ax:ax], xs[ax+1:]...)
	if len(piece) == 0 {
		return nil, fmt.Errorf("nn: split: %v has no axis but %d to keep", xs, ax)
	}
	grads := make([]*G.Node, n) // each piece's gradient, as Gorgonia differentiates it
	id := fmt.Sprint(splits.Add(1))
	anchor, err := apply(&customOp{
		name:    "SplitAnchor{" + id + "}",
		inDims:  dimsOf(x),
		outDims: 0,
		shape:   fixed(tensor.ScalarShape()),
		k:       kernelOf(zeroFwd[float32], zeroFwd[float64]),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, _ *G.Node) (G.Nodes, error) {
			// Every piece has been differentiated (see above); one that
			// does not reach the loss has no gradient, and is an error.
			parts := make([]*G.Node, n)
			for t, g := range grads {
				if g == nil {
					return nil, fmt.Errorf("nn: split: piece %d of %v does not reach the loss", t, xs)
				}
				parts[t] = g
			}
			gx, err := stack(xs, ax, parts)
			return G.Nodes{gx}, err
		},
	}, x)
	if err != nil {
		return nil, err
	}
	pieces := make([]*G.Node, n)
	for t := range n {
		if pieces[t], err = apply(&customOp{
			name:    fmt.Sprintf("Split{%s,%d,%d}", id, ax, t),
			inDims:  []int{len(xs), 0},
			outDims: len(piece),
			shape:   fixed(piece),
			k:       kernelOf(pieceFwd[float32](ax, t), pieceFwd[float64](ax, t)),
			wrt:     []bool{false, true},
			diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
				grads[t] = gy
				z, err := apply(&customOp{
					name:    "ZeroOf",
					inDims:  dimsOf(gy),
					outDims: 0,
					shape:   fixed(tensor.ScalarShape()),
					k:       kernelOf(zeroFwd[float32], zeroFwd[float64]),
				}, gy)
				return G.Nodes{nil, z}, err
			},
		}, x, anchor); err != nil {
			return nil, err
		}
	}
	return pieces, nil
}

func zeroFwd[T Float](y []T, _ [][]T, _ []tensor.Shape) error {
	clear(y)
	return nil
}

// pieceFwd copies slice t of in[0] along ax.
func pieceFwd[T Float](ax, t int) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		outer, n, inner := blocks(s[0], ax)
		for o := 0; o < outer; o++ {
			copy(y[o*inner:(o+1)*inner], in[0][(o*n+t)*inner:(o*n+t+1)*inner])
		}
		return nil
	}
}

// stack places parts, the slices of a tensor of shape to along ax (that
// axis dropped), back into it: Split's gradient.
func stack(to tensor.Shape, ax int, parts []*G.Node) (*G.Node, error) {
	to = to.Clone()
	return apply(&customOp{
		name:    fmt.Sprintf("Stack%v{%d}", to, ax),
		inDims:  dimsOf(parts...),
		outDims: len(to),
		shape:   fixed(to),
		k:       kernelOf(stackFwd[float32](ax), stackFwd[float64](ax)),
	}, parts...)
}

func stackFwd[T Float](ax int) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		n := len(in)
		inner := 1
		for _, d := range s[0][ax:] {
			inner *= d
		}
		outer := len(y) / (n * inner)
		for t, p := range in {
			for o := 0; o < outer; o++ {
				copy(y[(o*n+t)*inner:(o*n+t+1)*inner], p[o*inner:(o+1)*inner])
			}
		}
		return nil
	}
}
