//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

//go:noescape
func kernel6x16F32(k int, a, b, c *float32, ldc int, acc bool)

//go:noescape
func kernel6x8F64(k int, a, b, c *float64, ldc int, acc bool)

func asmKernels() (kernelFunc[float32], kernelFunc[float64], bool) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil, nil, false
	}
	k32 := func(k int, a, b, c []float32, ldc int, acc bool) {
		// The slice expressions check every bound the assembly relies on.
		_ = a[6*k-1]
		_ = b[16*k-1]
		_ = c[5*ldc+15]
		kernel6x16F32(k, &a[0], &b[0], &c[0], ldc, acc)
	}
	k64 := func(k int, a, b, c []float64, ldc int, acc bool) {
		_ = a[6*k-1]
		_ = b[8*k-1]
		_ = c[5*ldc+7]
		kernel6x8F64(k, &a[0], &b[0], &c[0], ldc, acc)
	}
	return k32, k64, true
}
