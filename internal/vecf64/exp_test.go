package vecf64

import (
	"math"
	"math/rand/v2"
	"testing"
)

// same reports whether a and b have the same bits, or are both NaN (whose
// payloads the hardware and Go may choose differently).
func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// ulps returns |a − b| in units of the last place of b (of the smallest
// subnormal where b is subnormal or zero).
func ulps(a, b float64) float64 {
	u := math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b)
	return math.Abs(a-b) / u
}

// expSpecial are inputs at the edges of exp's range and of its reduction.
var expSpecial = []float64{
	0, math.Copysign(0, -1), 1, -1, 1e-300, -1e-300, 0.5 * math.Ln2, -0.5 * math.Ln2,
	-708.3964185322641, -708.4, -709, -720, -740, -744.44, -745.13, -745.1332191019411, -745.14, -745.5, -746, -746.5, -750, -1000, -1e300,
	709.78, 709.782712893384, 709.79, 710, 711, 1000,
	math.Inf(-1), math.Inf(1), math.NaN(), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
}

// TestExpAccuracy compares exp with math.Exp over a dense sweep of the whole
// range, the subnormal results included, and at the special inputs: at
// most 1 ulp apart (math.Exp is itself within 1 ulp), and the same ±0, ±∞
// and NaN.
func TestExpAccuracy(t *testing.T) {
	worst, at := 0.0, 0.0
	check := func(x float64) {
		got, want := exp(x), math.Exp(x)
		if math.IsInf(want, 1) && x <= 709.782712893384 {
			// math.Exp on amd64 overflows from about 709.436 on, short of
			// the true threshold: hold exp to e^(x/2)² there instead.
			h := math.Exp(x / 2)
			if r := got / (h * h); !(math.Abs(r-1) < 1e-14) {
				t.Errorf("exp(%v) = %v, want about %v", x, got, h*h)
			}
			return
		}
		if math.IsNaN(want) || math.IsInf(want, 0) || want == 0 {
			if !same(got, want) {
				t.Errorf("exp(%v) = %v, want %v", x, got, want)
			}
			return
		}
		if u := ulps(got, want); u > worst {
			worst, at = u, x
		}
	}
	for x := -746.0; x <= 710; x += 0.000731 {
		check(x)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200000 {
		check(rng.Float64()*10 - 5) // where the softmax spends its time
	}
	for _, x := range expSpecial {
		check(x)
	}
	if worst > 2 {
		t.Errorf("exp: worst error %g ulp at %v, want <= 2", worst, at)
	}
	t.Logf("worst error %.3g ulp at %v", worst, at)
	if got := exp(0); got != 1 {
		t.Errorf("exp(0) = %v, want 1", got)
	}
}

// expSumGo is ExpSum without the assembly.
func expSumGo(dst, s, keep []float64, scale, m float64) float64 {
	var acc [4]float64
	for j := range dst {
		var e float64
		if keep[j] != 0 {
			e = exp(float64(scale*s[j]) - m)
		}
		dst[j] = e
		acc[j%4] += e
	}
	return (acc[0] + acc[2]) + (acc[1] + acc[3])
}

// eachPath runs f once with the widest assembly the CPU has and once
// without AVX-512 (where the CPU has it), saying which in failures.
func eachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(was bool) { hasAVX512 = was }(hasAVX512)
	for _, wide := range []bool{hasAVX512, false} {
		hasAVX512 = wide
		t.Run(map[bool]string{true: "avx512", false: "without-avx512"}[wide], f)
		if !wide {
			break
		}
	}
}

// TestExpBitForBit runs the assembly's exp (ExpSum with scale 1, m 0, every
// key kept) over the special inputs and a sweep of the range, and holds it
// to the Go exp.
func TestExpBitForBit(t *testing.T) { eachPath(t, testExpBitForBit) }

func testExpBitForBit(t *testing.T) {
	xs := append([]float64(nil), expSpecial...)
	for x := -750.0; x <= 712; x += 0.0173 {
		xs = append(xs, x)
	}
	for len(xs)%4 != 0 {
		xs = append(xs, 0)
	}
	keep := make([]float64, len(xs))
	for j := range keep {
		keep[j] = 1
	}
	got := make([]float64, len(xs))
	ExpSum(got, xs, keep, 1, 0)
	for j, x := range xs {
		if want := exp(x); !same(got[j], want) {
			t.Fatalf("exp(%v): assembly %v (%#x), Go %v (%#x)", x, got[j], math.Float64bits(got[j]), want, math.Float64bits(want))
		}
	}
}

// TestExpSumBitForBit holds the assembly to the Go loop exactly, over row
// lengths around multiples of 4, masks (with non-finite masked scores) and
// the softmax's range of inputs.
func TestExpSumBitForBit(t *testing.T) { eachPath(t, testExpSumBitForBit) }

func testExpSumBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 70; n++ {
		for trial := 0; trial < 20; trial++ {
			s, keep := make([]float64, n), make([]float64, n)
			for j := range s {
				s[j] = rng.NormFloat64() * 300
				if rng.IntN(4) > 0 {
					keep[j] = 1
				} else if rng.IntN(2) == 0 {
					s[j] = math.Inf(-1 + 2*rng.IntN(2))
				}
			}
			scale := 0.125 + rng.Float64()
			m := rng.NormFloat64() * 10
			got, want := make([]float64, n), make([]float64, n)
			gs, ws := ExpSum(got, s, keep, scale, m), expSumGo(want, s, keep, scale, m)
			if !same(gs, ws) {
				t.Fatalf("n=%d: sum %v, want %v", n, gs, ws)
			}
			for j := range got {
				if !same(got[j], want[j]) {
					t.Fatalf("n=%d: dst[%d] = %v, want %v (s %v, keep %v)", n, j, got[j], want[j], s[j], keep[j])
				}
			}
		}
	}
}

func TestMaskedMaxAndScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0}
	for n := 0; n <= 70; n++ {
		for trial := 0; trial < 20; trial++ {
			s, keep := make([]float64, n), make([]float64, n)
			for j := range s {
				s[j] = rng.NormFloat64() * 10
				if rng.IntN(10) == 0 {
					s[j] = special[rng.IntN(len(special))]
				}
				if rng.IntN(3) > 0 {
					keep[j] = 1
				}
			}
			scale := 0.1 + rng.Float64()
			want := math.Inf(-1)
			for j := range s {
				if t := scale * s[j]; keep[j] != 0 && t > want {
					want = t
				}
			}
			if got := MaskedMax(s, keep, scale); !same(got, want) && !(got == 0 && want == 0) {
				t.Fatalf("n=%d: MaskedMax = %v, want %v", n, got, want)
			}
			x := append([]float64(nil), s...)
			Scale(x, scale)
			for j := range x {
				if w := s[j] * scale; !same(x[j], w) {
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
			w, gw := make([]float64, n), make([]float64, n)
			for j := range w {
				w[j] = rng.Float64()
				gw[j] = rng.NormFloat64()
			}
			scale := 0.1 + rng.Float64()
			got, want := make([]float64, n), make([]float64, n)
			SoftmaxGradRow(got, w, gw, scale)
			var lanes [4]float64
			for j := range w {
				lanes[j%4] += float64(w[j] * gw[j])
			}
			dot := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
			for j := range w {
				want[j] = float64(scale*w[j]) * (gw[j] - dot)
			}
			for j := range got {
				if !same(got[j], want[j]) {
					t.Fatalf("n=%d: gs[%d] = %v, want %v", n, j, got[j], want[j])
				}
			}
		}
	}
}
