//go:build !amd64 || purego

package gemm

func asmKernelSets() []kernelSet { return nil }
