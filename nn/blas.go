package nn

import blas "github.com/qkv-dev/qkv/internal/gemm"

// gemm computes c = op(a)·op(b) in row-major layout, overwriting c, where
// op(a) is m×k and op(b) is k×n.
func gemm[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	gemmAcc(transA, transB, m, n, k, a, lda, b, ldb, false, c, ldc)
}

// gemmAcc is gemm that adds the product to c instead when acc is true.
func gemmAcc[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		blas.Gemm(transA, transB, m, n, k, a, lda, any(b).([]float32), ldb, acc, any(c).([]float32), ldc)
	case []float64:
		blas.Gemm(transA, transB, m, n, k, a, lda, any(b).([]float64), ldb, acc, any(c).([]float64), ldc)
	}
}

// gemmArgs is one product of a gemmBatch: C = op(A)·op(B), or C += with Acc.
type gemmArgs[T Float] struct {
	TransA, TransB bool
	M, N, K        int
	A              []T
	LDA            int
	B              []T
	LDB            int
	C              []T
	LDC            int
	Acc            bool
}

// gemmBatch runs count independent products, the i-th given by at(i),
// spread over the cores.
func gemmBatch[T Float](count int, at func(i int) gemmArgs[T]) {
	var z T
	switch any(z).(type) {
	case float32:
		f := any(at).(func(int) gemmArgs[float32])
		blas.Batch(count, func(i int) blas.Args[float32] {
			p := f(i)
			return blas.Args[float32]{TransA: p.TransA, TransB: p.TransB, M: p.M, N: p.N, K: p.K, A: p.A, LDA: p.LDA, B: p.B, LDB: p.LDB, C: p.C, LDC: p.LDC, Acc: p.Acc}
		})
	case float64:
		f := any(at).(func(int) gemmArgs[float64])
		blas.Batch(count, func(i int) blas.Args[float64] {
			p := f(i)
			return blas.Args[float64]{TransA: p.TransA, TransB: p.TransB, M: p.M, N: p.N, K: p.K, A: p.A, LDA: p.LDA, B: p.B, LDB: p.LDB, C: p.C, LDC: p.LDC, Acc: p.Acc}
		})
	}
}

// gemmBias computes c = op(a)·op(b) + bias (bias added to every row), then
// with relu clamps it at zero (v > 0 ? v : 0), in the GEMM's epilogue.
func gemmBias[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, bias []T, relu bool, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		blas.Linear(transA, transB, m, n, k, a, lda, any(b).([]float32), ldb, any(bias).([]float32), relu, any(c).([]float32), ldc)
	case []float64:
		blas.Linear(transA, transB, m, n, k, a, lda, any(b).([]float64), ldb, any(bias).([]float64), relu, any(c).([]float64), ldc)
	}
}
