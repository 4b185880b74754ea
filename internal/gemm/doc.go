// Package gemm multiplies dense row-major matrices, C = op(A)·op(B) or
// C += op(A)·op(B), in float32 and float64.
//
// It follows the BLIS design (Van Zee & van de Geijn, "BLIS: A Framework for
// Rapidly Instantiating BLAS Functionality", 2015, and Goto & van de Geijn,
// "Anatomy of High-Performance Matrix Multiplication", 2008): op(B) is packed
// into KC×NC panels of NR-wide slivers, op(A) into MC×KC blocks of MR-tall
// slivers, and a register-blocked micro-kernel multiplies one MR×KC sliver by
// one KC×NR sliver into an MR×NR tile of C. On amd64 the micro-kernels are
// Go assembly: with AVX-512, 6×32 for float32 and 6×16 for float64 in Z
// registers (twice the multiply-adds per instruction of AVX2, on cores
// whose 512-bit units run them at full rate); with AVX2 and FMA, 6×16 and
// 6×8 in Y registers. Both accumulate every element in the same order, so
// they give the same bits. On other machines, or with the purego build
// tag, a Go kernel over the same packed layout takes their place and also
// serves as the tests' reference.
//
// Large products are split over the machine's cores; Batch runs many small
// products (one per attention head) and splits the batch instead.
package gemm
