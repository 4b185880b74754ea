// Package vecf64 holds the float64 twins of vecf32's row kernels: a
// softmax row's maximum, exponentials (with a vectorised exp), scaling and
// gradient, a layer-norm row's statistics, output and input gradient, a
// ReLU's gradient, and the column sums of a bias gradient. Each has a Go
// loop that defines its result and, on amd64 with AVX2, an assembly
// version that computes the same bits four lanes at a time; tests hold the
// two equal. The purego build tag, or a machine without AVX2, leaves only
// the Go loops.
package vecf64
