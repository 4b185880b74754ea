package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MaskedSoftmax returns attention weights over keys:
//
//	w = softmax(scale · s) over the last axis, with masked keys excluded
//
// s [B, ..., Tk] (e.g. [B, H, Tq, Tk]), keep [B, Tk] with 1 for a real key
// and 0 for padding. Masked keys get exactly zero weight, and a row whose
// keys are all masked is all zeros rather than NaN.
func MaskedSoftmax(s, keep *G.Node, scale float64) (*G.Node, error) {
	ss, ks := s.Shape(), keep.Shape()
	if len(ss) < 2 || len(ks) != 2 || ks[0] != ss[0] || ks[1] != ss[len(ss)-1] {
		return nil, fmt.Errorf("nn: masked softmax: scores %v and mask %v do not fit (want [B,...,Tk] and [B,Tk])", ss, ks)
	}
	op := &customOp{
		name:    fmt.Sprintf("MaskedSoftmax{%g}", scale),
		inDims:  dimsOf(s, keep),
		outDims: s.Dims(),
		shape:   sameShape,
		k:       kernelOf(maskedSoftmaxFwd(scale, rows32), maskedSoftmaxFwd(scale, rows64)),
		wrt:     []bool{true, false},
		diff: func(in G.Nodes, w, gw *G.Node) (G.Nodes, error) {
			gs, err := apply(&customOp{
				name:    fmt.Sprintf("MaskedSoftmaxGrad{%g}", scale),
				inDims:  dimsOf(w, gw),
				outDims: w.Dims(),
				shape:   sameShape,
				k:       kernelOf(softmaxGrad(scale, rows32), softmaxGrad(scale, rows64)),
			}, w, gw)
			if err != nil {
				return nil, err
			}
			return G.Nodes{gs, nil}, nil
		},
	}
	return apply(op, s, keep)
}

// maskedSoftmaxFwd computes each row with v's kernels: the kept keys'
// maximum, then the exponentials and their sum, then the division, in T
// (float32 as PyTorch does, or float64).
func maskedSoftmaxFwd[T Float](scale float64, v *rowOps[T]) func([]T, [][]T, []tensor.Shape) error {
	sc := T(scale)
	return func(w []T, in [][]T, sh []tensor.Shape) error {
		s, keep := in[0], in[1]
		b, tk := sh[1][0], sh[1][1]
		perBatch := len(s) / b
		parallelRows(len(s)/tk, costly*len(s), func(lo, hi int) {
			for r := lo * tk; r < hi*tk; r += tk {
				k := keep[(r/perBatch)*tk : (r/perBatch+1)*tk]
				sr, wr := s[r:r+tk], w[r:r+tk]
				m := v.maskedMax(sr, k, sc)
				if math.IsInf(float64(m), -1) { // every key masked
					clear(wr)
					continue
				}
				v.scale(wr, 1/v.expSum(wr, sr, k, sc, m))
			}
		})
		return nil
	}
}

// softmaxGrad: gs = scale · w ⊙ (gw − Σ gw⊙w) per row, with v's kernel
// (in float64 for either type).
func softmaxGrad[T Float](scale float64, v *rowOps[T]) func([]T, [][]T, []tensor.Shape) error {
	return func(gs []T, in [][]T, sh []tensor.Shape) error {
		w, gw := in[0], in[1]
		n, tk := rows(sh[0])
		parallelRows(n, costly*len(w), func(lo, hi int) {
			for r := lo * tk; r < hi*tk; r += tk {
				v.softmaxGrad(gs[r:r+tk], w[r:r+tk], gw[r:r+tk], scale)
			}
		})
		return nil
	}
}
