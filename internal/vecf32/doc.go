// Package vecf32 holds float32 row kernels that Go does not vectorise by
// itself: the exponentials of a softmax row and the column sums of a bias
// gradient. Each has a Go loop that defines its result and, on amd64 with
// AVX2, an assembly version that computes the same bits eight lanes at a
// time; tests hold the two equal.
package vecf32
