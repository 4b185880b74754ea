package vecf64

import "math"

// expConst are the constants of exp, after Cephes' exp (Moshier, 1984):
// the clamp, log₂e, ln 2 in two parts (Cody and Waite) and the
// coefficients of the Padé form e^r = 1 + 2·r·P(r²)/(Q(r²) − r·P(r²)) on
// |r| ≤ ln2/2.
var expConst = [...]float64{
	-746,                      // 0: lower clamp: e^x rounds to 0 below about −745.13
	710,                       // 1: upper clamp: e^x overflows above about 709.78
	1.4426950408889634,        // 2: log₂e
	6.93145751953125e-1,       // 3: ln 2, high part (exact in a few bits)
	1.42860682030941723212e-6, // 4: ln 2, low part
	1.26177193074810590878e-4, // 5: P0
	3.02994407707441961300e-2, // 6: P1
	9.99999999999999999910e-1, // 7: P2
	3.00198505138664455042e-6, // 8: Q0
	2.52448340349684104192e-3, // 9: Q1
	2.27265548208155028766e-1, // 10: Q2
	2.00000000000000000009e0,  // 11: Q3
	1,                         // 12
}

// pow2 returns 2ᵏ for −1022 ≤ k ≤ 1023.
func pow2(k int32) float64 { return math.Float64frombits(uint64(int64(k)+1023) << 52) }

// exp returns e^x within a couple of ulps of math.Exp. Like math.Exp it
// gives +0 for −∞ and far negative x, +∞ for +∞ and x past about 709.78,
// NaN for NaN, and a correctly scaled subnormal in between: the clamp to
// [−746, 710] changes no result, and 2ⁿ is applied as 2^⌊n/2⌋·2^(n−⌊n/2⌋)
// so that both factors are normal numbers and only the last product rounds.
// Every operation is rounded on its own (no fused multiply-add) so the
// assembly can match it bit for bit.
func exp(x float64) float64 {
	c := &expConst
	x = min(max(x, c[0]), c[1]) // a NaN stays NaN
	n := math.RoundToEven(float64(x * c[2]))
	r := x - float64(n*c[3])
	r = r - float64(n*c[4])
	rr := float64(r * r)
	p := float64(float64(float64(c[5]*rr)+c[6])*rr) + c[7]
	p = float64(p * r)
	q := float64(float64(float64(float64(float64(c[8]*rr)+c[9])*rr)+c[10])*rr) + c[11]
	e := float64(p / float64(q-p))
	e = c[12] + float64(e+e)
	k := int32(n)
	k1 := k >> 1
	return float64(e*pow2(k1)) * pow2(k-k1)
}

// ExpSum sets dst[j] = e^(scale·s[j] − m) where keep[j] ≠ 0 and +0
// elsewhere, and returns the sum of dst. The sum is kept in four lanes
// (element j in lane j mod 4) and the lanes added as (0+2)+(1+3).
func ExpSum(dst, s, keep []float64, scale, m float64) float64 {
	n := len(dst)
	s, keep = s[:n], keep[:n]
	var acc [4]float64
	done := expSumAsm(dst, s, keep, scale, m, &acc)
	for j := done; j < n; j++ {
		var e float64
		if keep[j] != 0 {
			e = exp(float64(scale*s[j]) - m)
		}
		dst[j] = e
		acc[j%4] += e
	}
	return (acc[0] + acc[2]) + (acc[1] + acc[3])
}

// MaskedMax returns the largest scale·s[j] over j with keep[j] ≠ 0, or −∞
// when every key is masked. A NaN is passed over, as by the comparison
// t > m.
func MaskedMax(s, keep []float64, scale float64) float64 {
	n := len(s)
	keep = keep[:n]
	m := math.Inf(-1)
	done := maskedMaxAsm(s, keep, scale, &m)
	for j := done; j < n; j++ {
		if t := float64(scale * s[j]); keep[j] != 0 && t > m {
			m = t
		}
	}
	return m
}

// Scale multiplies x by c in place.
func Scale(x []float64, c float64) {
	done := scaleAsm(x, c)
	for j := done; j < len(x); j++ {
		x[j] *= c
	}
}

// SoftmaxGradRow sets gs[j] = (scale·w[j])·(gw[j] − Σ w·gw), the gradient
// of a scaled softmax row at its input given its output w and output
// gradient gw, with the dot product kept in four lanes (element j in lane
// j mod 4) added as (0+2)+(1+3).
func SoftmaxGradRow(gs, w, gw []float64, scale float64) {
	n := len(w)
	gs, gw = gs[:n], gw[:n]
	var lanes [4]float64
	done := dotAsm(w, gw, &lanes)
	for j := done; j < n; j++ {
		lanes[j%4] += float64(w[j] * gw[j])
	}
	dot := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
	done = softmaxGradAsm(gs, w, gw, scale, dot)
	for j := done; j < n; j++ {
		gs[j] = float64(scale*w[j]) * (gw[j] - dot)
	}
}
