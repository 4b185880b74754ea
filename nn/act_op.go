package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GELU returns the Gaussian error linear unit (Hendrycks & Gimpel, 2016) in
// its exact form, as torch.nn.functional.gelu:
//
//	GELU(x) = x · Φ(x) = x · ½(1 + erf(x/√2))
func GELU(x *G.Node) (*G.Node, error) {
	op := &customOp{
		name:    "GELU",
		inDims:  dimsOf(x),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(geluFwd[float32], geluFwd[float64]),
		wrt:     []bool{true},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    "GELUGrad",
				inDims:  dimsOf(in[0], gy),
				outDims: in[0].Dims(),
				shape:   sameShape,
				k:       kernelOf(geluGrad[float32], geluGrad[float64]),
			}, in[0], gy)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func geluFwd[T Float](y []T, in [][]T, _ []tensor.Shape) error {
	for i, v := range in[0] {
		x := float64(v)
		y[i] = T(x * 0.5 * (1 + math.Erf(x/math.Sqrt2)))
	}
	return nil
}

// geluGrad: d/dx x·Φ(x) = Φ(x) + x·φ(x).
func geluGrad[T Float](gx []T, in [][]T, _ []tensor.Shape) error {
	x, gy := in[0], in[1]
	for i, v := range x {
		xf := float64(v)
		cdf := 0.5 * (1 + math.Erf(xf/math.Sqrt2))
		pdf := math.Exp(-0.5*xf*xf) / math.Sqrt(2*math.Pi)
		gx[i] = T(float64(gy[i]) * (cdf + xf*pdf))
	}
	return nil
}

// ReLU returns max(x, 0) element-wise, as torch.relu. Its gradient passes
// gy where the output is positive, as PyTorch's threshold_backward does.
func ReLU(x *G.Node) (*G.Node, error) {
	op := &customOp{
		name:    "ReLU",
		inDims:  dimsOf(x),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(reluFwd32, reluFwd[float64]),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, y, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    "ReLUGrad",
				inDims:  dimsOf(y, gy),
				outDims: y.Dims(),
				shape:   sameShape,
				k:       kernelOf(reluGrad(rows32), reluGrad(rows64)),
			}, y, gy)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func reluFwd[T Float](y []T, in [][]T, _ []tensor.Shape) error {
	x := in[0][:len(y)]
	parallelRows(len(y), len(y), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y[lo+i] = max(v, 0)
		}
	})
	return nil
}

// reluFwd32 is reluFwd without branches, which mispredict on every other
// element of a layer's pre-activations: it keeps the bits of x where x is
// not negative or is a NaN, and gives +0 elsewhere (also for −0), as max.
func reluFwd32(y []float32, in [][]float32, _ []tensor.Shape) error {
	x := in[0][:len(y)]
	parallelRows(len(y), len(y), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			b := math.Float32bits(v)
			neg := uint32(int32(b) >> 31)
			nan := uint32(int32(0x7f800000-b&0x7fffffff) >> 31)
			y[lo+i] = math.Float32frombits(b & (^neg | nan))
		}
	})
	return nil
}

// reluGrad: gx = gy where y > 0, else +0. The output y of a ReLU is +0,
// positive or NaN, so y > 0 or NaN exactly when y ≠ 0: v's kernel masks
// with that test, several elements at a time and without a branch that
// would mispredict on every other element. A NaN passes gy through, as in
// PyTorch (NaN <= 0 is false).
func reluGrad[T Float](v *rowOps[T]) func([]T, [][]T, []tensor.Shape) error {
	return func(gx []T, in [][]T, _ []tensor.Shape) error {
		y, gy := in[0][:len(gx)], in[1][:len(gx)]
		parallelRows(len(gx), len(gx), func(lo, hi int) {
			v.passNonzero(gx[lo:hi], y[lo:hi], gy[lo:hi])
		})
		return nil
	}
}

// Add returns x + y for tensors of one shape: the residual connection.
func Add(x, y *G.Node) (*G.Node, error) {
	if !x.Shape().Eq(y.Shape()) {
		return nil, fmt.Errorf("nn: add: shapes %v and %v differ", x.Shape(), y.Shape())
	}
	op := &customOp{
		name:    "Add",
		inDims:  dimsOf(x, y),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(addFwd[float32], addFwd[float64]),
		wrt:     []bool{true, true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			return G.Nodes{gy, gy}, nil
		},
	}
	return apply(op, x, y)
}

func addFwd[T Float](z []T, in [][]T, _ []tensor.Shape) error {
	x, y := in[0][:len(z)], in[1][:len(z)]
	parallelRows(len(z), len(z), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			z[i] = x[i] + y[i]
		}
	})
	return nil
}
