package bench

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/qkv-dev/qkv/internal/gemm"
)

// gemmShapes are the products of a training step of the large model (batch
// 32, length 64, d_model 256, d_ff 1024, 8 heads): forward projections, the
// two backward products of each, and one head's scores.
var gemmShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"proj_2048x256x256", false, true, 2048, 256, 256},      // x·Wᵀ
	{"ff1_2048x1024x256", false, true, 2048, 1024, 256},     // x·W1ᵀ
	{"ff2_2048x256x1024", false, true, 2048, 256, 1024},     // h·W2ᵀ
	{"gradX_2048x256x1024", false, false, 2048, 256, 1024},  // gy·W
	{"gradW_1024x256x2048", true, false, 1024, 256, 2048},   // gyᵀ·x
	{"gradW_256x1024x2048", true, false, 256, 1024, 2048},   // gyᵀ·h
	{"head_64x64x32", false, true, 64, 64, 32},              // Q_h·K_hᵀ
	{"small_head_32x32x16", false, true, 32, 32, 16},        // small model Q_h·K_hᵀ
	{"small_mix_32x16x32", false, false, 32, 16, 32},        // small model S·V_h
	{"small_mixT_32x16x32", true, false, 32, 16, 32},        // small model Sᵀ·gO_h
	{"small_ff_2048x256x64", false, true, 2048, 256, 64},    // small model x·W1ᵀ
	{"small_gradW_256x64x2048", true, false, 256, 64, 2048}, // small model gyᵀ·x
	{"small_ff2_2048x64x256", false, true, 2048, 64, 256},   // small model h·W2ᵀ
	{"small_gx_2048x64x256", false, false, 2048, 64, 256},   // small model gy·W2
	{"small_gw_64x64x2048", true, false, 64, 64, 2048},      // small model gyᵀ·x
	{"default_proj_384x64x64", false, true, 384, 64, 64},    // default model
	{"default_gradW_64x64x384", true, false, 64, 64, 384},   // default model
}

// BenchmarkGemm reports GFLOP/s of qkv's GEMM and of gonum's pure-Go Sgemm
// (what nn used before) on float32.
func BenchmarkGemm(b *testing.B) {
	for _, s := range gemmShapes {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = s.k, s.m
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = s.n, s.k
		}
		a, bb, c := fill(ar*ac), fill(br*bc), make([]float32, s.m*s.n)
		flops := 2 * float64(s.m*s.n*s.k)
		b.Run(fmt.Sprintf("qkv/%s", s.name), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				gemm.Gemm(s.transA, s.transB, s.m, s.n, s.k, a, ac, bb, bc, false, c, s.n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("gonum/%s", s.name), func(b *testing.B) {
			tA, tB := blas.NoTrans, blas.NoTrans
			if s.transA {
				tA = blas.Trans
			}
			if s.transB {
				tB = blas.Trans
			}
			impl := blas32.Implementation()
			for i := 0; i < b.N; i++ {
				impl.Sgemm(tA, tB, s.m, s.n, s.k, 1, a, ac, bb, bc, 0, c, s.n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func fill(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i%17)/17 - 0.5
	}
	return s
}
