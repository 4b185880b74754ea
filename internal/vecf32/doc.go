// Package vecf32 holds float32 row kernels that Go does not vectorise by
// itself: a softmax row's maximum, exponentials, scaling and gradient, a layer-norm
// row's statistics, output and input gradient, a ReLU's gradient, and the
// column sums of a bias gradient. Each has a Go loop that defines its
// result and, on amd64 with AVX2, an assembly version that computes the
// same bits several lanes at a time; tests hold the two equal. The purego
// build tag, or a machine without AVX2, leaves only the Go loops.
package vecf32
