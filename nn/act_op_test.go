package nn

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestReLUGradMask holds the branch-free gradient to PyTorch's rule
// (gx = 0 where y <= 0, else gy) on the values a ReLU can output.
func TestReLUGradMask(t *testing.T) {
	ys := []float64{0, math.Copysign(0, -1), 1, 5e-324, 1e-40, math.MaxFloat64, math.Inf(1), math.NaN(), 2.5}
	gy := []float64{1, 2, 3, 4, 5, 6, 7, 8, -9}
	// Three times over: 27 elements, so the float32 kernel's eight at a
	// time meets every value in every lane and a tail is left over.
	ys, gy = append(append(ys, ys...), ys...), append(append(gy, gy...), gy...)
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
	if err := reluGrad(rows64)(gx, [][]float64{ys, gy}, nil); err != nil {
		t.Fatal(err)
	}
	ys32, gy32, gx32 := make([]float32, len(ys)), make([]float32, len(ys)), make([]float32, len(ys))
	for i := range ys {
		ys32[i], gy32[i] = float32(ys[i]), float32(gy[i])
	}
	if err := reluGrad(rows32)(gx32, [][]float32{ys32, gy32}, nil); err != nil {
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

// TestLinearReLUMatchesComposition: the fused op's forward equals ReLU of
// Linear bit for bit, in both dtypes.
func TestLinearReLUMatchesComposition(t *testing.T) {
	rng := newRand(3)
	const n, in, out = 37, 29, 23
	x, w, b := make([]float64, n*in), make([]float64, out*in), make([]float64, out)
	for _, s := range [][]float64{x, w, b} {
		for i := range s {
			s[i] = rng.NormFloat64()
		}
	}
	shapes := []tensor.Shape{{n, in}, {out, in}, {out}}
	fused, lin, relu := make([]float64, n*out), make([]float64, n*out), make([]float64, n*out)
	if err := linearFwd[float64](true)(fused, [][]float64{x, w, b}, shapes); err != nil {
		t.Fatal(err)
	}
	if err := linearFwd[float64](false)(lin, [][]float64{x, w, b}, shapes); err != nil {
		t.Fatal(err)
	}
	if err := reluFwd(relu, [][]float64{lin}, nil); err != nil {
		t.Fatal(err)
	}
	x32, w32, b32 := to32(x), to32(w), to32(b)
	fused32, lin32, relu32 := make([]float32, n*out), make([]float32, n*out), make([]float32, n*out)
	if err := linearFwd[float32](true)(fused32, [][]float32{x32, w32, b32}, shapes); err != nil {
		t.Fatal(err)
	}
	if err := linearFwd[float32](false)(lin32, [][]float32{x32, w32, b32}, shapes); err != nil {
		t.Fatal(err)
	}
	if err := reluFwd32(relu32, [][]float32{lin32}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range fused {
		if math.Float64bits(fused[i]) != math.Float64bits(relu[i]) {
			t.Fatalf("float64: fused[%d] = %v, want %v", i, fused[i], relu[i])
		}
		if math.Float32bits(fused32[i]) != math.Float32bits(relu32[i]) {
			t.Fatalf("float32: fused[%d] = %v, want %v", i, fused32[i], relu32[i])
		}
	}
}

func to32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

// TestSumToFwd holds the vectorised bias-gradient sums of both types to a
// plain loop over the rows.
func TestSumToFwd(t *testing.T) {
	rng := newRand(5)
	for _, m := range []int{1, 12, 64, 70} {
		x := make([]float64, 301*m)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		want := make([]float64, m)
		for r := 0; r < len(x); r += m {
			for j := range want {
				want[j] += x[r+j]
			}
		}
		want32 := make([]float32, m)
		x32 := to32(x)
		for r := 0; r < len(x32); r += m {
			for j := range want32 {
				want32[j] += x32[r+j]
			}
		}
		got, got32 := make([]float64, m), make([]float32, m)
		if err := sumToFwd(rows64)(got, [][]float64{x}, nil); err != nil {
			t.Fatal(err)
		}
		if err := sumToFwd(rows32)(got32, [][]float32{x32}, nil); err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				t.Fatalf("float64 m=%d: out[%d] = %v, want %v", m, j, got[j], want[j])
			}
			if math.Float32bits(got32[j]) != math.Float32bits(want32[j]) {
				t.Fatalf("float32 m=%d: out[%d] = %v, want %v", m, j, got32[j], want32[j])
			}
		}
	}
}
