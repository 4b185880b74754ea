//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

//go:noescape
func kernel6x16F32(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, flags int, bias *float32)

//go:noescape
func kernel6x8F64(k int, a *float64, rsA, csA int, b *float64, csB int, c *float64, ldc int, flags int, bias *float64)

//go:noescape
func kernel6x32F32(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, flags int, bias *float32)

//go:noescape
func kernel6x16F64(k int, a *float64, rsA, csA int, b *float64, csB int, c *float64, ldc int, flags int, bias *float64)

type asmKernel[T Float] func(k int, a *T, rsA, csA int, b *T, csB int, c *T, ldc int, flags int, bias *T)

// wrap is kern, 6 rows by nr columns, behind the checks of every bound the
// assembly relies on.
func wrap[T Float](kern asmKernel[T], nr int) kernelFunc[T] {
	size := 4
	var z T
	if _, ok := any(z).(float64); ok {
		size = 8
	}
	return func(k int, a []T, rsA, csA int, b []T, csB int, c []T, ldc int, flags int, bias []T) {
		_ = a[5*rsA+(k-1)*csA]
		_ = b[(k-1)*csB+nr-1]
		_ = c[5*ldc+nr-1]
		bp := &c[0] // not read unless flagBias
		if flags&flagBias != 0 {
			_ = bias[nr-1]
			bp = &bias[0]
		}
		kern(k, &a[0], rsA*size, csA*size, &b[0], csB*size, &c[0], ldc, flags, bp)
	}
}

// asmKernelSets are the assembly kernels this CPU runs, fastest first:
// AVX-512 (two FMAs of 16 float32 a cycle on cores with 512-bit units),
// then AVX2 with FMA.
func asmKernelSets() []kernelSet {
	var sets []kernelSet
	var avx2 *kernelSet
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		avx2 = &kernelSet{
			name: "avx2",
			f32:  &impl[float32]{mr: 6, nr: 16, mc: 144, kc: 256, nc: 3072, kern: wrap(kernel6x16F32, 16)},
			f64:  &impl[float64]{mr: 6, nr: 8, mc: 96, kc: 256, nc: 2048, kern: wrap(kernel6x8F64, 8)},
		}
	}
	if cpu.X86.HasAVX512F {
		// A 6×32 tile row is two Z registers; a kc×32 float32 B sliver of
		// kc 256 is 32 KiB, which stays in a 48 KiB L1 beside the A sliver.
		sets = append(sets, kernelSet{
			name:   "avx512",
			f32:    &impl[float32]{mr: 6, nr: 32, mc: 144, kc: 256, nc: 3072, kern: wrap(kernel6x32F32, 32)},
			f64:    &impl[float64]{mr: 6, nr: 16, mc: 96, kc: 256, nc: 2048, kern: wrap(kernel6x16F64, 16)},
			narrow: avx2,
		})
	}
	if avx2 != nil {
		sets = append(sets, *avx2)
	}
	return sets
}
