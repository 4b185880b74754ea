package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkKernelSets reports GFLOP/s of each kernel set this machine has,
// float32 and float64, at the large model's projection shapes and one
// head's scores, so that sets compare in the same process:
//
//	go test ./internal/gemm -run XXX -bench KernelSets -count 5
func BenchmarkKernelSets(b *testing.B) {
	b.Run("float32", benchKernelSets[float32])
	b.Run("float64", benchKernelSets[float64])
}

func benchKernelSets[T Float](b *testing.B) {
	shapes := []struct {
		transA, transB bool
		m, n, k        int
	}{
		{false, true, 2048, 256, 256},   // x·Wᵀ
		{false, true, 2048, 1024, 256},  // x·W1ᵀ
		{false, false, 2048, 256, 1024}, // gy·W
		{true, false, 256, 1024, 2048},  // gyᵀ·h
		{false, true, 64, 64, 32},       // Q_h·K_hᵀ
		{false, false, 32, 16, 32},      // the small model's S·V_h
		{true, false, 32, 16, 32},       // the small model's Sᵀ·gO_h
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = s.k, s.m
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = s.n, s.k
		}
		a, bb, c := random[T](rng, ar*ac), random[T](rng, br*bc), make([]T, s.m*s.n)
		flops := 2 * float64(s.m*s.n*s.k)
		for i := range kernelSets {
			name := fmt.Sprintf("%s/tA=%v,tB=%v,%dx%dx%d", kernelSets[i].name, s.transA, s.transB, s.m, s.n, s.k)
			b.Run(name, func(b *testing.B) {
				defer useKernels(&kernelSets[i])()
				for range b.N {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, a, ac, bb, bc, false, c, s.n)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
