//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

//go:noescape
func kernel6x16F32(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, flags int, bias *float32)

//go:noescape
func kernel6x8F64(k int, a *float64, rsA, csA int, b *float64, csB int, c *float64, ldc int, flags int, bias *float64)

func asmKernels() (kernelFunc[float32], kernelFunc[float64], bool) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil, nil, false
	}
	k32 := func(k int, a []float32, rsA, csA int, b []float32, csB int, c []float32, ldc int, flags int, bias []float32) {
		// Check every bound the assembly relies on.
		_ = a[5*rsA+(k-1)*csA]
		_ = b[(k-1)*csB+15]
		_ = c[5*ldc+15]
		bp := &c[0] // not read unless flagBias
		if flags&flagBias != 0 {
			_ = bias[15]
			bp = &bias[0]
		}
		kernel6x16F32(k, &a[0], rsA*4, csA*4, &b[0], csB*4, &c[0], ldc, flags, bp)
	}
	k64 := func(k int, a []float64, rsA, csA int, b []float64, csB int, c []float64, ldc int, flags int, bias []float64) {
		_ = a[5*rsA+(k-1)*csA]
		_ = b[(k-1)*csB+7]
		_ = c[5*ldc+7]
		bp := &c[0]
		if flags&flagBias != 0 {
			_ = bias[7]
			bp = &bias[0]
		}
		kernel6x8F64(k, &a[0], rsA*8, csA*8, &b[0], csB*8, &c[0], ldc, flags, bp)
	}
	return k32, k64, true
}
