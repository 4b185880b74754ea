package gemm

import (
	"math"
	"testing"
)

// TestLinearReLUKeepsNaN: the fused ReLU of Linear's epilogue, in the
// assembly kernels and the Go ones (edge tiles, k = 0, purego), gives NaN
// for NaN as torch.relu does, +0 for −0 and for negatives, and v for
// positives. It turned NaN into 0 (v > 0 ? v : 0), which hid a diverging
// layer from the non-finite-loss check.
func TestLinearReLUKeepsNaN(t *testing.T) {
	nan, negZero := math.NaN(), math.Copysign(0, -1)
	bias := []float64{nan, negZero, -2, 3, math.Inf(1), math.Inf(-1), 0, -0.5}
	eachKernel(t, func(t *testing.T) {
		for _, k := range []int{0, 1, 5} {
			for _, m := range []int{1, 6, 13} { // one row, a full tile, a tile and an edge
				for _, n := range []int{8, 24, 40, 72} { // columns cycle through bias's cases
					checkReLU[float32](t, m, n, k, bias)
					checkReLU[float64](t, m, n, k, bias)
				}
			}
		}
	})
}

func checkReLU[T Float](t *testing.T, m, n, k int, cases []float64) {
	t.Helper()
	a := make([]T, m*max(k, 1)) // zeros: the product is 0, so c = relu(bias)
	b := make([]T, max(k, 1)*n)
	bias := make([]T, n)
	for j := range bias {
		bias[j] = T(cases[j%len(cases)])
	}
	c := make([]T, m*n)
	for i := range c {
		c[i] = 7 // overwritten
	}
	Linear(false, false, m, n, k, a, max(k, 1), b, n, bias, true, c, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := float64(bias[j]) + 0 // 0·x sums to +0, so −0 + (+0) = +0
			want := v
			if v <= 0 {
				want = 0
			}
			got := float64(c[i*n+j])
			if !(got == want && math.Signbit(got) == math.Signbit(want) || math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("%T m=%d n=%d k=%d: relu(%v) at (%d,%d) = %v, want %v", c[0], m, n, k, bias[j], i, j, got, want)
			}
		}
	}
}
