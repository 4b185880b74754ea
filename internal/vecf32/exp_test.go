package vecf32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// expSumGo is ExpSum without the assembly.
func expSumGo(dst, s, keep []float32, scale, m float32) float32 {
	var acc [8]float32
	for j := range dst {
		var e float32
		if keep[j] != 0 {
			e = exp(float32(scale*s[j]) - m)
		}
		dst[j] = e
		acc[j%8] += e
	}
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

func TestExpAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x <= 88; x += 0.0137 {
		got, want := float64(exp(x)), math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
	}
	if worst > 4e-7 {
		t.Errorf("exp: worst relative error %g, want <= 4e-7", worst)
	}
	if got := exp(0); got != 1 {
		t.Errorf("exp(0) = %v, want 1", got)
	}
	if got := exp(-1000); got > 1.2e-38 {
		t.Errorf("exp(-1000) = %v, want <= 1.2e-38", got)
	}
}

// TestExpSumBitForBit holds the assembly to the Go loop exactly, over row
// lengths around multiples of 8, masks and the softmax's range of inputs.
func TestExpSumBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 70; n++ {
		for trial := 0; trial < 20; trial++ {
			s, keep := make([]float32, n), make([]float32, n)
			for j := range s {
				s[j] = float32(rng.NormFloat64() * 30)
				if rng.IntN(4) > 0 {
					keep[j] = 1
				}
			}
			scale := float32(0.125 + rng.Float64())
			m := float32(rng.NormFloat64() * 10)
			got, want := make([]float32, n), make([]float32, n)
			gs, ws := ExpSum(got, s, keep, scale, m), expSumGo(want, s, keep, scale, m)
			if math.Float32bits(gs) != math.Float32bits(ws) {
				t.Fatalf("n=%d: sum %v, want %v", n, gs, ws)
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("n=%d: dst[%d] = %v, want %v (s %v, keep %v)", n, j, got[j], want[j], s[j], keep[j])
				}
			}
		}
	}
}

func TestMaskedMaxAndScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := 0; n <= 70; n++ {
		for trial := 0; trial < 20; trial++ {
			s, keep := make([]float32, n), make([]float32, n)
			for j := range s {
				s[j] = float32(rng.NormFloat64() * 10)
				if rng.IntN(3) > 0 {
					keep[j] = 1
				}
			}
			scale := float32(0.1 + rng.Float64())
			want := float32(math.Inf(-1))
			for j := range s {
				if t := float32(scale * s[j]); keep[j] != 0 && t > want {
					want = t
				}
			}
			if got := MaskedMax(s, keep, scale); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n=%d: MaskedMax = %v, want %v", n, got, want)
			}
			x := append([]float32(nil), s...)
			Scale(x, scale)
			for j := range x {
				if w := s[j] * scale; math.Float32bits(x[j]) != math.Float32bits(w) {
					t.Fatalf("n=%d: Scale: x[%d] = %v, want %v", n, j, x[j], w)
				}
			}
		}
	}
}

func TestSoftmaxGradRowBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for n := 1; n <= 70; n++ {
		for trial := 0; trial < 10; trial++ {
			w, gw := make([]float32, n), make([]float32, n)
			for j := range w {
				w[j] = float32(rng.Float64())
				gw[j] = float32(rng.NormFloat64())
			}
			scale := 0.1 + rng.Float64()
			got, want := make([]float32, n), make([]float32, n)
			SoftmaxGradRow(got, w, gw, scale)
			var lanes [4]float64
			for j := range w {
				lanes[j%4] += float64(float64(w[j]) * float64(gw[j]))
			}
			dot := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
			for j := range w {
				want[j] = float32(float64(scale*float64(w[j])) * float64(float64(gw[j])-dot))
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("n=%d: gs[%d] = %v, want %v", n, j, got[j], want[j])
				}
			}
		}
	}
}

// TestNaNScores holds the assembly to the Go loops where a score is NaN: a
// kept NaN makes its exp and the row's sum NaN (so that a NaN upstream of
// attention reaches the loss rather than turning into finite weights), a
// masked one gives 0, and MaskedMax passes over NaNs as the comparison
// t > m does. Each NaN is tried in every position of rows that the
// kernels' eight lanes cover and of their tails.
func TestNaNScores(t *testing.T) {
	nan := float32(math.NaN())
	for _, n := range []int{8, 13, 24} {
		for at := 0; at < n; at++ {
			for _, kept := range []float32{0, 1} {
				s, keep := make([]float32, n), make([]float32, n)
				for j := range s {
					s[j], keep[j] = float32(j%5)-2, 1
				}
				s[at], keep[at] = nan, kept
				got, want := make([]float32, n), make([]float32, n)
				gs, ws := ExpSum(got, s, keep, 0.5, 1), expSumGo(want, s, keep, 0.5, 1)
				if same := math.IsNaN(float64(gs)) == math.IsNaN(float64(ws)); !same || (!math.IsNaN(float64(ws)) && gs != ws) {
					t.Fatalf("n=%d, NaN at %d, keep %v: sum %v, want %v", n, at, kept, gs, ws)
				}
				if kept == 1 && !math.IsNaN(float64(gs)) {
					t.Fatalf("n=%d, kept NaN at %d: sum %v, want NaN", n, at, gs)
				}
				for j := range got {
					if math.IsNaN(float64(want[j])) != math.IsNaN(float64(got[j])) || (!math.IsNaN(float64(want[j])) && math.Float32bits(got[j]) != math.Float32bits(want[j])) {
						t.Fatalf("n=%d, NaN at %d, keep %v: dst[%d] = %v, want %v", n, at, kept, j, got[j], want[j])
					}
				}
				wantMax := float32(math.Inf(-1))
				for j := range s {
					if v := float32(0.5 * s[j]); keep[j] != 0 && v > wantMax {
						wantMax = v
					}
				}
				if got := MaskedMax(s, keep, 0.5); math.Float32bits(got) != math.Float32bits(wantMax) {
					t.Fatalf("n=%d, NaN at %d, keep %v: MaskedMax = %v, want %v", n, at, kept, got, wantMax)
				}
			}
		}
	}
}
