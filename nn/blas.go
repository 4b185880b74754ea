package nn

import blas "github.com/qkv-dev/qkv/internal/gemm"

// The matrix products of nn's kernels, all row-major, go through
// internal/gemm: a packed GEMM with AVX2/FMA micro-kernels, a pure-Go one
// elsewhere.

// gemm computes c = op(a)·op(b) in row-major layout, overwriting c, where
// op(a) is m×k and op(b) is k×n.
func gemm[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	blas.Gemm(transA, transB, m, n, k, a, lda, b, ldb, false, c, ldc)
}

// gemmArgs is one product of a gemmBatch: C = op(A)·op(B), or C += with Acc.
type gemmArgs[T Float] = blas.Args[T]

// gemmBatch runs count independent products, the i-th given by at(i),
// spread over the cores.
func gemmBatch[T Float](count int, at func(i int) gemmArgs[T]) { blas.Batch(count, at) }

// gemmBias computes c = op(a)·op(b) + bias (bias added to every row), then
// with relu clamps it at zero (v <= 0 ? +0 : v, keeping a NaN), in the
// GEMM's epilogue.
func gemmBias[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, bias []T, relu bool, c []T, ldc int) {
	blas.Linear(transA, transB, m, n, k, a, lda, b, ldb, bias, relu, c, ldc)
}
