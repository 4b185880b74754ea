package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/internal/vecf32"
)

// LayerNorm normalises x over its last axis (Ba et al., 2016):
//
//	y = (x − E[x]) / √(Var[x] + ε) · γ + β
//
// with the biased variance, as torch.nn.LayerNorm. x [..., D], gamma [D],
// beta [D] → [..., D]. It is a fused op with a hand-written backward, since
// a composition over Gorgonia's InverseSqrt has a wrong gradient.
func LayerNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	xs := x.Shape()
	d := xs[len(xs)-1]
	if !gamma.Shape().Eq(tensor.Shape{d}) || !beta.Shape().Eq(tensor.Shape{d}) {
		return nil, fmt.Errorf("nn: layer norm: gamma %v and beta %v must be [%d]", gamma.Shape(), beta.Shape(), d)
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("nn: layer norm: eps must be positive, got %g", eps)
	}
	st := &normStats{}
	op := &customOp{
		name:    fmt.Sprintf("LayerNorm{%g}", eps),
		inDims:  dimsOf(x, gamma, beta),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(layerNormFwd32(eps, st), layerNormFwd[float64](eps, st)),
		wrt:     []bool{true, true, true},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    fmt.Sprintf("LayerNormGradX{%g}", eps),
				inDims:  dimsOf(in[0], in[1], gy),
				outDims: in[0].Dims(),
				shape:   sameShape,
				k:       kernelOf(layerNormGradX32(st), layerNormGradX[float64](st)),
			}, in[0], in[1], gy)
			if err != nil {
				return nil, err
			}
			gg, err := apply(&customOp{
				name:    fmt.Sprintf("LayerNormGradGamma{%g}", eps),
				inDims:  dimsOf(in[0], gy),
				outDims: 1,
				shape: func(s []tensor.Shape) (tensor.Shape, error) {
					return tensor.Shape{s[0][len(s[0])-1]}, nil
				},
				k: kernelOf(layerNormGradGamma[float32](st), layerNormGradGamma[float64](st)),
			}, in[0], gy)
			if err != nil {
				return nil, err
			}
			gb, err := SumTo(gy, in[2].Shape())
			if err != nil {
				return nil, err
			}
			return G.Nodes{gx, gg, gb}, nil
		},
	}
	return apply(op, x, gamma, beta)
}

// normStats are the mean and 1/√(var+ε) of every row from the last forward
// run. The backward kernels run after the forward kernel of the same run
// (their gy depends on its output), so they read the statistics instead of
// computing them twice more.
type normStats struct {
	mean, rstd []float64
}

func (st *normStats) size(n int) {
	if len(st.mean) != n {
		st.mean, st.rstd = make([]float64, n), make([]float64, n)
	}
}

// rowStats returns the mean and 1/√(var+ε) of one row, accumulated in float64.
func rowStats[T Float](x []T, eps float64) (mean, rstd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var v2 float64
	for _, v := range x {
		d := float64(v) - mean
		v2 += d * d
	}
	return mean, 1 / math.Sqrt(v2/float64(len(x))+eps)
}

func layerNormFwd[T Float](eps float64, st *normStats) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x, g, b := in[0], in[1], in[2]
		n, d := rows(s[0])
		st.size(n)
		parallelRows(n, costly*n*d, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
				mean, rstd := rowStats(xr, eps)
				st.mean[r], st.rstd[r] = mean, rstd
				for j, v := range xr {
					yr[j] = T((float64(v)-mean)*rstd)*g[j] + b[j]
				}
			}
		})
		return nil
	}
}

// layerNormFwd32 is the float32 kernel, with each row's statistics and
// output computed four elements at a time (vecf32.NormRow).
func layerNormFwd32(eps float64, st *normStats) func([]float32, [][]float32, []tensor.Shape) error {
	return func(y []float32, in [][]float32, s []tensor.Shape) error {
		x, g, b := in[0], in[1], in[2]
		n, d := rows(s[0])
		st.size(n)
		parallelRows(n, costly*n*d, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				st.mean[r], st.rstd[r] = vecf32.NormRow(y[r*d:(r+1)*d], x[r*d:(r+1)*d], g, b, eps)
			}
		})
		return nil
	}
}

// layerNormGradX: with x̂ the normalised input and ĝ = gy·γ,
// gx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(Var[x] + ε).
func layerNormGradX[T Float](st *normStats) func([]T, [][]T, []tensor.Shape) error {
	return func(gx []T, in [][]T, s []tensor.Shape) error {
		x, g, gy := in[0], in[1], in[2]
		n, d := rows(s[0])
		parallelRows(n, costly*n*d, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				xr, gyr, gxr := x[r*d:(r+1)*d], gy[r*d:(r+1)*d], gx[r*d:(r+1)*d]
				mean, rstd := st.mean[r], st.rstd[r]
				var mg, mgx float64
				for j, v := range xr {
					gh := float64(gyr[j]) * float64(g[j])
					mg += gh
					mgx += gh * (float64(v) - mean) * rstd
				}
				mg /= float64(d)
				mgx /= float64(d)
				for j, v := range xr {
					xh := (float64(v) - mean) * rstd
					gxr[j] = T(rstd * (float64(gyr[j])*float64(g[j]) - mg - xh*mgx))
				}
			}
		})
		return nil
	}
}

// layerNormGradX32 is the float32 kernel, four elements at a time
// (vecf32.NormGradRow).
func layerNormGradX32(st *normStats) func([]float32, [][]float32, []tensor.Shape) error {
	return func(gx []float32, in [][]float32, s []tensor.Shape) error {
		x, g, gy := in[0], in[1], in[2]
		n, d := rows(s[0])
		parallelRows(n, costly*n*d, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				vecf32.NormGradRow(gx[r*d:(r+1)*d], x[r*d:(r+1)*d], g, gy[r*d:(r+1)*d], st.mean[r], st.rstd[r])
			}
		})
		return nil
	}
}

func layerNormGradGamma[T Float](st *normStats) func([]T, [][]T, []tensor.Shape) error {
	return func(gg []T, in [][]T, s []tensor.Shape) error {
		x, gy := in[0], in[1]
		n, d := rows(s[0])
		acc := make([]float64, d)
		for r := 0; r < n; r++ {
			xr, gyr := x[r*d:(r+1)*d], gy[r*d:(r+1)*d]
			mean, rstd := st.mean[r], st.rstd[r]
			for j, v := range xr {
				acc[j] += float64(gyr[j]) * (float64(v) - mean) * rstd
			}
		}
		for j, v := range acc {
			gg[j] = T(v)
		}
		return nil
	}
}
