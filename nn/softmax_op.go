package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/internal/vecf32"
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
		k:       kernelOf(maskedSoftmaxFwd32(scale), maskedSoftmaxFwd[float64](scale)),
		wrt:     []bool{true, false},
		diff: func(in G.Nodes, w, gw *G.Node) (G.Nodes, error) {
			gs, err := apply(&customOp{
				name:    fmt.Sprintf("MaskedSoftmaxGrad{%g}", scale),
				inDims:  dimsOf(w, gw),
				outDims: w.Dims(),
				shape:   sameShape,
				k:       kernelOf(softmaxGrad32(scale), softmaxGrad[float64](scale)),
			}, w, gw)
			if err != nil {
				return nil, err
			}
			return G.Nodes{gs, nil}, nil
		},
	}
	return apply(op, s, keep)
}

func maskedSoftmaxFwd[T Float](scale float64) func([]T, [][]T, []tensor.Shape) error {
	return func(w []T, in [][]T, sh []tensor.Shape) error {
		s, keep := in[0], in[1]
		b, tk := sh[1][0], sh[1][1]
		perBatch := len(s) / b
		parallelRows(len(s)/tk, costly*len(s), func(lo, hi int) { maskedSoftmaxRows(w, s, keep, scale, tk, perBatch, lo, hi) })
		return nil
	}
}

// maskedSoftmaxFwd32 is the float32 kernel: it works in float32 as PyTorch
// does, eight elements at a time (vecf32).
func maskedSoftmaxFwd32(scale float64) func([]float32, [][]float32, []tensor.Shape) error {
	sc := float32(scale)
	return func(w []float32, in [][]float32, sh []tensor.Shape) error {
		s, keep := in[0], in[1]
		b, tk := sh[1][0], sh[1][1]
		perBatch := len(s) / b
		parallelRows(len(s)/tk, costly*len(s), func(lo, hi int) {
			for r := lo * tk; r < hi*tk; r += tk {
				k := keep[(r/perBatch)*tk : (r/perBatch+1)*tk]
				sr, wr := s[r:r+tk], w[r:r+tk]
				m := vecf32.MaskedMax(sr, k, sc)
				if math.IsInf(float64(m), -1) { // every key masked
					clear(wr)
					continue
				}
				vecf32.Scale(wr, 1/vecf32.ExpSum(wr, sr, k, sc, m))
			}
		})
		return nil
	}
}

// maskedSoftmaxRows computes rows [lo, hi) of the masked softmax.
func maskedSoftmaxRows[T Float](w, s, keep []T, scale float64, tk, perBatch, lo, hi int) {
	for r := lo * tk; r < hi*tk; r += tk {
		k := keep[(r/perBatch)*tk : (r/perBatch+1)*tk]
		sr, wr := s[r:r+tk], w[r:r+tk]
		m := math.Inf(-1)
		for j, v := range sr {
			if k[j] != 0 && scale*float64(v) > m {
				m = scale * float64(v)
			}
		}
		var z float64
		for j, v := range sr {
			if k[j] != 0 {
				e := math.Exp(scale*float64(v) - m)
				wr[j] = T(e)
				z += e
			} else {
				wr[j] = 0
			}
		}
		if z > 0 {
			inv := 1 / z
			for j := range wr {
				wr[j] = T(float64(wr[j]) * inv)
			}
		}
	}
}

// softmaxGrad32 is the float32 kernel, four elements at a time
// (vecf32.SoftmaxGradRow).
func softmaxGrad32(scale float64) func([]float32, [][]float32, []tensor.Shape) error {
	return func(gs []float32, in [][]float32, sh []tensor.Shape) error {
		w, gw := in[0], in[1]
		n, tk := rows(sh[0])
		parallelRows(n, costly*len(w), func(lo, hi int) {
			for r := lo * tk; r < hi*tk; r += tk {
				vecf32.SoftmaxGradRow(gs[r:r+tk], w[r:r+tk], gw[r:r+tk], scale)
			}
		})
		return nil
	}
}

// softmaxGrad: gs = scale · w ⊙ (gw − Σ gw⊙w) per row.
func softmaxGrad[T Float](scale float64) func([]T, [][]T, []tensor.Shape) error {
	return func(gs []T, in [][]T, sh []tensor.Shape) error {
		w, gw := in[0], in[1]
		n, tk := rows(sh[0])
		parallelRows(n, costly*len(w), func(lo, hi int) {
			for r := lo * tk; r < hi*tk; r += tk {
				wr, gr := w[r:r+tk], gw[r:r+tk]
				var dot float64
				for j, v := range wr {
					dot += float64(v) * float64(gr[j])
				}
				for j, v := range wr {
					gs[r+j] = T(scale * float64(v) * (float64(gr[j]) - dot))
				}
			}
		})
		return nil
	}
}
