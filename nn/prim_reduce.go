package nn

import (
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reduced returns the shapes of reducing s over axes: keep, with those axes
// of size 1, and out, which drops them unless keepDims. Reducing every axis
// without keepDims gives a scalar.
func reduced(s tensor.Shape, keepDims bool, axes []int) (keep, out tensor.Shape, n int, err error) {
	if len(axes) == 0 {
		return nil, nil, 0, fmt.Errorf("no axis to reduce")
	}
	keep, n = s.Clone(), 1
	for _, a := range axes {
		if a, err = axis(a, len(s)); err != nil {
			return nil, nil, 0, err
		}
		if keep[a] == 1 && s[a] != 1 {
			return nil, nil, 0, fmt.Errorf("axis %d given twice", a)
		}
		n *= s[a]
		keep[a] = 1
	}
	if keepDims {
		return keep, keep.Clone(), n, nil
	}
	out = tensor.Shape{}
	for i, d := range s {
		if !slices.ContainsFunc(axes, func(a int) bool { return a == i || a+len(s) == i }) {
			out = append(out, d)
		}
	}
	return keep, out, n, nil
}

// Sum adds x's elements over axes (negative axes count from the end),
// keeping them as size-1 axes if keepDims, as torch.sum(x, axes, keepdim):
// gx = gy broadcast back to x's shape.
func Sum(x *G.Node, keepDims bool, axes ...int) (*G.Node, error) {
	keep, out, _, err := reduced(x.Shape(), keepDims, axes)
	if err != nil {
		return nil, fmt.Errorf("nn: sum: %w", err)
	}
	return sumInto(x, keep, out)
}

// Mean averages x's elements over axes, as torch.mean(x, axes, keepdim): a
// Sum scaled by 1/n, so its gradient is theirs.
func Mean(x *G.Node, keepDims bool, axes ...int) (*G.Node, error) {
	_, _, n, err := reduced(x.Shape(), keepDims, axes)
	if err != nil {
		return nil, fmt.Errorf("nn: mean: %w", err)
	}
	s, err := Sum(x, keepDims, axes...)
	if err != nil {
		return nil, err
	}
	return Scale(s, 1/float64(n))
}

// Max returns the largest of x's elements over axes, as torch.amax(x,
// axes, keepdim) for one maximum: gy goes to the first position holding
// the maximum and nowhere else (where torch.amax would split it between
// ties; ties have probability zero for real-valued inputs).
func Max(x *G.Node, keepDims bool, axes ...int) (*G.Node, error) {
	xs := x.Shape().Clone()
	keep, out, _, err := reduced(xs, keepDims, axes)
	if err != nil {
		return nil, fmt.Errorf("nn: max: %w", err)
	}
	op := &customOp{
		name:    fmt.Sprintf("Max%v%v", keep, out),
		inDims:  dimsOf(x),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(maxFwd[float32](keep), maxFwd[float64](keep)),
		wrt:     []bool{true},
		diff: func(in G.Nodes, y, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    fmt.Sprintf("MaxGrad%v", keep),
				inDims:  dimsOf(in[0], y, gy),
				outDims: len(xs),
				shape:   sameShape,
				k:       kernelOf(maxGrad[float32](keep), maxGrad[float64](keep)),
			}, in[0], y, gy)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func maxFwd[T Float](keep tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		for i := range y {
			y[i] = T(math.Inf(-1))
		}
		x := in[0]
		walk(s[0], [][]int{bstrides(keep, s[0])}, func(o int, idx []int) { y[idx[0]] = max(y[idx[0]], x[o]) })
		return nil
	}
}

// maxGrad: gx = gy at the first position of each group equal to its max.
func maxGrad[T Float](keep tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(gx []T, in [][]T, s []tensor.Shape) error {
		x, y, gy := in[0], in[1], in[2]
		done := make([]bool, len(y))
		walk(s[0], [][]int{bstrides(keep, s[0])}, func(o int, idx []int) {
			j := idx[0]
			gx[o] = 0
			if !done[j] && x[o] == y[j] {
				gx[o], done[j] = gy[j], true
			}
		})
		return nil
	}
}

// Softmax returns exp(x) / Σ exp(x) over axis ax, as torch.softmax:
// gx = y ⊙ (gy − Σ_ax gy⊙y), written with primitives.
func Softmax(x *G.Node, ax int) (*G.Node, error) { return softmax(x, ax, false) }

// LogSoftmax returns x − log Σ exp(x) over axis ax, as torch.log_softmax:
// gx = gy − exp(y) ⊙ Σ_ax gy, written with primitives.
func LogSoftmax(x *G.Node, ax int) (*G.Node, error) { return softmax(x, ax, true) }

func softmax(x *G.Node, ax int, log bool) (*G.Node, error) {
	ax, err := axis(ax, x.Dims())
	if err != nil {
		return nil, fmt.Errorf("nn: softmax: %w", err)
	}
	name := map[bool]string{false: "Softmax", true: "LogSoftmax"}[log]
	op := &customOp{
		name:    fmt.Sprintf("%s{%d}", name, ax),
		inDims:  dimsOf(x),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(softmaxFwd[float32](ax, log), softmaxFwd[float64](ax, log)),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, y, gy *G.Node) (G.Nodes, error) {
			if log {
				s, err := Sum(gy, true, ax)
				if err != nil {
					return nil, err
				}
				e, err := Exp(y)
				if err != nil {
					return nil, err
				}
				es, err := Times(e, s)
				if err != nil {
					return nil, err
				}
				gx, err := Minus(gy, es)
				return G.Nodes{gx}, err
			}
			gyy, err := Times(gy, y)
			if err != nil {
				return nil, err
			}
			s, err := Sum(gyy, true, ax)
			if err != nil {
				return nil, err
			}
			d, err := Minus(gy, s)
			if err != nil {
				return nil, err
			}
			gx, err := Times(y, d)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

// softmaxFwd subtracts each group's maximum before exponentiating, so no
// finite input overflows.
func softmaxFwd[T Float](ax int, log bool) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x := in[0]
		outer, n, inner := blocks(s[0], ax)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*n*inner + i
				m := math.Inf(-1)
				for j := 0; j < n; j++ {
					m = max(m, float64(x[base+j*inner]))
				}
				var z float64
				for j := 0; j < n; j++ {
					z += math.Exp(float64(x[base+j*inner]) - m)
				}
				for j := 0; j < n; j++ {
					v := float64(x[base+j*inner]) - m
					if log {
						y[base+j*inner] = T(v - math.Log(z))
					} else {
						y[base+j*inner] = T(math.Exp(v) / z)
					}
				}
			}
		}
		return nil
	}
}
