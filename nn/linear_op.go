package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear returns y = x·Wᵀ + b over the last axis of x, with W stored as
// [out, in] like torch.nn.Linear: x [..., I], w [O, I], b [O] → y [..., O].
// It is one fused op: no transpose is materialised and the bias is not
// broadcast through a copy.
func Linear(x, w, b *G.Node) (*G.Node, error) { return linear(x, w, b, false) }

// LinearReLU returns max(x·Wᵀ + b, 0), Linear followed by ReLU, with the
// clamp done in the matrix product's epilogue instead of a pass of its own:
// x [..., I], w [O, I], b [O] → y [..., O]. Its activation is v <= 0 ? +0 : v,
// so, like ReLU, it keeps a NaN (and the non-finite check then sees it);
// the gradient is ReLU's.
func LinearReLU(x, w, b *G.Node) (*G.Node, error) { return linear(x, w, b, true) }

// linear is Linear, or LinearReLU when relu is set. The backward pass of
// either takes the gradient at the pre-activation z = x·Wᵀ + b (gy itself,
// or gy where y > 0): gx = gz·W, gW = gzᵀ·x, gb = Σ gz.
func linear(x, w, b *G.Node, relu bool) (*G.Node, error) {
	name := map[bool]string{false: "Linear", true: "LinearReLU"}[relu]
	xs, ws, bs := x.Shape(), w.Shape(), b.Shape()
	if len(ws) != 2 || len(bs) != 1 || len(xs) < 1 || xs[len(xs)-1] != ws[1] || bs[0] != ws[0] {
		return nil, fmt.Errorf("nn: %s: shapes x %v, w %v, b %v do not fit", map[bool]string{false: "linear", true: "linear-relu"}[relu], xs, ws, bs)
	}
	op := &customOp{
		name:    name,
		inDims:  dimsOf(x, w, b),
		outDims: x.Dims(),
		shape: func(in []tensor.Shape) (tensor.Shape, error) {
			out := in[0].Clone()
			out[len(out)-1] = in[1][0]
			return out, nil
		},
		k:   kernelOf(linearFwd[float32](relu), linearFwd[float64](relu)),
		wrt: []bool{true, true, true},
		diff: func(in G.Nodes, y, gy *G.Node) (G.Nodes, error) {
			gz := gy
			if relu {
				var err error
				if gz, err = apply(&customOp{
					name:    "ReLUGrad",
					inDims:  dimsOf(y, gy),
					outDims: y.Dims(),
					shape:   sameShape,
					k:       kernelOf(reluGrad(rows32), reluGrad(rows64)),
				}, y, gy); err != nil {
					return nil, err
				}
			}
			gx, err := linearGradX(gz, in[1], in[0].Dims())
			if err != nil {
				return nil, err
			}
			gw, err := linearGradW(gz, in[0])
			if err != nil {
				return nil, err
			}
			gb, err := SumTo(gz, in[2].Shape())
			if err != nil {
				return nil, err
			}
			return G.Nodes{gx, gw, gb}, nil
		},
	}
	return apply(op, x, w, b)
}

// linearFwd returns the forward kernel: the product, with the bias (and
// the clamp, if relu) added in its epilogue.
func linearFwd[T Float](relu bool) func(y []T, in [][]T, s []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x, w, b := in[0], in[1], in[2]
		o, i := s[1][0], s[1][1]
		gemmBias(false, true, len(x)/i, o, i, x, i, w, i, b, relu, y, o)
		return nil
	}
}

// linearGradX returns gx = gy·W: gy [..., O], w [O, I] → [..., I].
func linearGradX(gy, w *G.Node, dims int) (*G.Node, error) {
	op := &customOp{
		name:    "LinearGradX",
		inDims:  dimsOf(gy, w),
		outDims: dims,
		shape: func(in []tensor.Shape) (tensor.Shape, error) {
			out := in[0].Clone()
			out[len(out)-1] = in[1][1]
			return out, nil
		},
		k: kernelOf(linearGradXFwd[float32], linearGradXFwd[float64]),
	}
	return apply(op, gy, w)
}

func linearGradXFwd[T Float](gx []T, in [][]T, s []tensor.Shape) error {
	gy, w := in[0], in[1]
	o, i := s[1][0], s[1][1]
	gemm(false, false, len(gy)/o, i, o, gy, o, w, i, gx, i)
	return nil
}

// linearGradW returns gW = gyᵀ·x summed over all rows: gy [..., O], x [..., I] → [O, I].
func linearGradW(gy, x *G.Node) (*G.Node, error) {
	op := &customOp{
		name:    "LinearGradW",
		inDims:  dimsOf(gy, x),
		outDims: 2,
		shape: func(in []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{in[0][len(in[0])-1], in[1][len(in[1])-1]}, nil
		},
		k: kernelOf(linearGradWFwd[float32], linearGradWFwd[float64]),
	}
	return apply(op, gy, x)
}

func linearGradWFwd[T Float](gw []T, in [][]T, s []tensor.Shape) error {
	gy, x := in[0], in[1]
	n, o := rows(s[0])
	_, i := rows(s[1])
	gemm(true, false, o, i, n, gy, o, x, i, gw, i)
	return nil
}

// SumTo sums x over its leading axes down to the trailing shape to:
// x [..., to...] → [to...]. It is the gradient of adding a broadcast bias.
func SumTo(x *G.Node, to tensor.Shape) (*G.Node, error) {
	xs := x.Shape()
	if len(to) > len(xs) || !xs[len(xs)-len(to):].Eq(to) {
		return nil, fmt.Errorf("nn: sum: cannot sum %v to %v", xs, to)
	}
	to = to.Clone()
	op := &customOp{
		name:    fmt.Sprintf("SumTo%v", to),
		inDims:  dimsOf(x),
		outDims: len(to),
		shape:   func([]tensor.Shape) (tensor.Shape, error) { return to.Clone(), nil },
		k:       kernelOf(sumToFwd(rows32), sumToFwd(rows64)),
	}
	return apply(op, x)
}

// sumToFwd adds the rows of x with v's kernel, its columns split over the
// cores; each column is summed in row order, as a plain loop sums it.
func sumToFwd[T Float](v *rowOps[T]) func([]T, [][]T, []tensor.Shape) error {
	return func(out []T, in [][]T, _ []tensor.Shape) error {
		clear(out)
		x, m := in[0], len(out)
		parallelRows(m, len(x), func(lo, hi int) {
			v.addRows(out[lo:hi], x[lo:], m)
		})
		return nil
	}
}

// AddTrailing returns x + b where b's shape is the trailing part of x's and
// is broadcast over x's leading axes: x [B, T, D] + pe [T, D] → [B, T, D].
func AddTrailing(x, b *G.Node) (*G.Node, error) {
	xs, bs := x.Shape(), b.Shape()
	if len(bs) > len(xs) || !xs[len(xs)-len(bs):].Eq(bs) {
		return nil, fmt.Errorf("nn: add: cannot broadcast %v onto %v", bs, xs)
	}
	op := &customOp{
		name:    "AddTrailing",
		inDims:  dimsOf(x, b),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(addTrailingFwd[float32], addTrailingFwd[float64]),
		wrt:     []bool{true, true},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gb, err := SumTo(gy, in[1].Shape())
			if err != nil {
				return nil, err
			}
			return G.Nodes{gy, gb}, nil
		},
	}
	return apply(op, x, b)
}

func addTrailingFwd[T Float](y []T, in [][]T, _ []tensor.Shape) error {
	x, b := in[0], in[1]
	m := len(b)
	for r := 0; r < len(x); r += m {
		for j, v := range x[r : r+m] {
			y[r+j] = v + b[j]
		}
	}
	return nil
}
