//go:build !amd64 || purego

package gemm

func asmKernels() (kernelFunc[float32], kernelFunc[float64], bool) {
	return nil, nil, false
}
