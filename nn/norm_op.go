package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
		k:       kernelOf(layerNormFwd(eps, st, rows32), layerNormFwd(eps, st, rows64)),
		wrt:     []bool{true, true, true},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    fmt.Sprintf("LayerNormGradX{%g}", eps),
				inDims:  dimsOf(in[0], in[1], gy),
				outDims: in[0].Dims(),
				shape:   sameShape,
				k:       kernelOf(layerNormGradX(st, rows32), layerNormGradX(st, rows64)),
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

// layerNormFwd normalises each row with v's kernel, which computes the
// row's statistics in float64 and keeps them in st for the backward pass.
func layerNormFwd[T Float](eps float64, st *normStats, v *rowOps[T]) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x, g, b := in[0], in[1], in[2]
		n, d := rows(s[0])
		st.size(n)
		parallelRows(n, costly*n*d, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				st.mean[r], st.rstd[r] = v.normRow(y[r*d:(r+1)*d], x[r*d:(r+1)*d], g, b, eps)
			}
		})
		return nil
	}
}

// layerNormGradX: with x̂ the normalised input and ĝ = gy·γ,
// gx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(Var[x] + ε), row by row with v's
// kernel.
func layerNormGradX[T Float](st *normStats, v *rowOps[T]) func([]T, [][]T, []tensor.Shape) error {
	return func(gx []T, in [][]T, s []tensor.Shape) error {
		x, g, gy := in[0], in[1], in[2]
		n, d := rows(s[0])
		parallelRows(n, costly*n*d, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				v.normGradRow(gx[r*d:(r+1)*d], x[r*d:(r+1)*d], g, gy[r*d:(r+1)*d], st.mean[r], st.rstd[r])
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
