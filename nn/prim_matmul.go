package nn

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MatMul returns the batched matrix product op(a)·op(b), where op transposes
// the last two axes when asked: a [..., M, K] (or [..., K, M] with transA),
// b [..., K, N] (or [..., N, K] with transB) → [..., M, N]. The leading
// (batch) axes of a and b must be equal, or b may be a plain matrix shared
// by every batch element (a 3-D × 2-D product, which Gorgonia's
// BatchedMatMul rejects). With C = op(A)·op(B), the gradients are
// g op(A) = gC·op(B)ᵀ and g op(B) = op(A)ᵀ·gC, themselves MatMuls; a shared
// b's gradient is summed over the batch.
func MatMul(a, b *G.Node, transA, transB bool) (*G.Node, error) {
	as, bs := a.Shape().Clone(), b.Shape().Clone()
	bad := func() (*G.Node, error) {
		return nil, fmt.Errorf("nn: matmul: shapes %v and %v (transposed %v, %v) do not fit", as, bs, transA, transB)
	}
	if len(as) < 2 || len(bs) < 2 || (len(bs) != 2 && len(bs) != len(as)) {
		return bad()
	}
	if len(bs) > 2 && !slices.Equal(as[:len(as)-2], bs[:len(bs)-2]) {
		return bad()
	}
	m, k := as[len(as)-2], as[len(as)-1]
	if transA {
		m, k = k, m
	}
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		return bad()
	}
	out := as.Clone()
	out[len(out)-2], out[len(out)-1] = m, n
	op := &customOp{
		name:    fmt.Sprintf("MatMul{%v,%v}%v%v", transA, transB, as, bs),
		inDims:  dimsOf(a, b),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(matMulFwd[float32](transA, transB, m, n, k), matMulFwd[float64](transA, transB, m, n, k)),
		wrt:     []bool{true, true},
		diff: func(in G.Nodes, _, gc *G.Node) (G.Nodes, error) {
			a, b := in[0], in[1]
			var ga, gb *G.Node
			var err error
			if transA { // A = op(A)ᵀ: gA = op(B)·gCᵀ
				ga, err = matMulShared(b, gc, transB, true)
			} else { // gA = gC·op(B)ᵀ
				ga, err = MatMul(gc, b, false, !transB)
			}
			if err != nil {
				return nil, err
			}
			if transB { // gB = gCᵀ·op(A)
				gb, err = MatMul(gc, a, true, transA)
			} else { // gB = op(A)ᵀ·gC
				gb, err = MatMul(a, gc, !transA, false)
			}
			if err != nil {
				return nil, err
			}
			if gb, err = reduceTo(gb, bs); err != nil {
				return nil, err
			}
			return G.Nodes{ga, gb}, nil
		},
	}
	return apply(op, a, b)
}

// matMulShared is MatMul where the first operand may be the shared matrix
// and the second batched: it broadcasts a to b's batch first.
func matMulShared(a, b *G.Node, transA, transB bool) (*G.Node, error) {
	if a.Dims() == 2 && b.Dims() > 2 {
		s := b.Shape().Clone()
		s[len(s)-2], s[len(s)-1] = a.Shape()[0], a.Shape()[1]
		var err error
		if a, err = BroadcastTo(a, s...); err != nil {
			return nil, err
		}
	}
	return MatMul(a, b, transA, transB)
}

func matMulFwd[T Float](transA, transB bool, m, n, k int) func([]T, [][]T, []tensor.Shape) error {
	return func(c []T, in [][]T, s []tensor.Shape) error {
		a, b := in[0], in[1]
		lda, ldb := s[0][len(s[0])-1], s[1][len(s[1])-1]
		count := len(c) / (m * n)
		bStep := len(b) / count
		if len(s[1]) == 2 {
			bStep = 0
		}
		gemmBatch(count, func(i int) gemmArgs[T] {
			return gemmArgs[T]{TransA: transA, TransB: transB, M: m, N: n, K: k,
				A: a[i*m*k:], LDA: lda, B: b[i*bStep:], LDB: ldb, C: c[i*m*n:], LDC: n}
		})
		return nil
	}
}
