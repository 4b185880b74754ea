package nn

import (
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
