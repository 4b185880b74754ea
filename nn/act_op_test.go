package nn

import (
	"math"
	"testing"
)

// TestReLUGradMask holds the branch-free gradient to PyTorch's rule
// (gx = 0 where y <= 0, else gy) on the values a ReLU can output.
func TestReLUGradMask(t *testing.T) {
	ys := []float64{0, math.Copysign(0, -1), 1, 5e-324, 1e-40, math.MaxFloat64, math.Inf(1), math.NaN(), 2.5}
	gy := []float64{1, 2, 3, 4, 5, 6, 7, 8, -9}
	for i := range ys {
		ys[i] = max(ys[i], 0) // as reluFwd makes them
	}
	want := func(y, g float64) float64 {
		if y <= 0 {
			return 0
		}
		return g
	}
	gx := make([]float64, len(ys))
	if err := reluGrad64(gx, [][]float64{ys, gy}, nil); err != nil {
		t.Fatal(err)
	}
	ys32, gy32, gx32 := make([]float32, len(ys)), make([]float32, len(ys)), make([]float32, len(ys))
	for i := range ys {
		ys32[i], gy32[i] = float32(ys[i]), float32(gy[i])
	}
	if err := reluGrad32(gx32, [][]float32{ys32, gy32}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range ys {
		if w := want(ys[i], gy[i]); gx[i] != w {
			t.Errorf("float64: y = %v: gx = %v, want %v", ys[i], gx[i], w)
		}
		if w := float32(want(float64(ys32[i]), float64(gy32[i]))); gx32[i] != w {
			t.Errorf("float32: y = %v: gx = %v, want %v", ys32[i], gx32[i], w)
		}
	}
}

func TestReLUFwd32(t *testing.T) {
	nan := float32(math.NaN())
	negNaN := math.Float32frombits(math.Float32bits(nan) | 1<<31)
	xs := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1e-45, -1e-45, float32(math.Inf(1)), float32(math.Inf(-1)), nan, negNaN, 3.5, -3.5}
	y := make([]float32, len(xs))
	if err := reluFwd32(y, [][]float32{xs}, nil); err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		want := max(x, 0)
		if math.Float32bits(y[i]) != math.Float32bits(want) && !(want != want && y[i] != y[i]) {
			t.Errorf("relu(%v) = %v, want %v", x, y[i], want)
		}
	}
}
