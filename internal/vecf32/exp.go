package vecf32

import "math"

// expConst are the constants of Exp, after Cephes' expf (Moshier, 1984):
// the clamp to where 2ⁿ stays a normal float32, log₂e, ln 2 in two parts
// and the coefficients of the polynomial for e^r on |r| ≤ ln2/2.
var expConst = [...]float32{
	-87.33654,  // 0: lower clamp, ln 2⁻¹²⁶
	88.37626,   // 1: upper clamp
	1.442695,   // 2: log₂e
	0.69335938, // 3: ln 2, high part
	-2.1219444e-4,
	1.9875691500e-4, // 5: p0
	1.3981999507e-3,
	8.3334519073e-3,
	4.1665795894e-2,
	1.6666665459e-1,
	5.0000001201e-1, // 10: p5
	1,
}

// exp returns e^x with a relative error of a few ulps for x in the clamp
// range; below it the result is about 1e-38 rather than smaller, and a NaN
// stays NaN (min and max keep it; the assembly orders its operands so). Every
// product is rounded on its own (no fused multiply-add) so the assembly can
// match it bit for bit.
func exp(x float32) float32 {
	c := &expConst
	x = min(max(x, c[0]), c[1])
	n := float32(math.RoundToEven(float64(float32(x * c[2]))))
	r := x - float32(n*c[3])
	r = r - float32(n*c[4])
	p := c[5]
	p = float32(p*r) + c[6]
	p = float32(p*r) + c[7]
	p = float32(p*r) + c[8]
	p = float32(p*r) + c[9]
	p = float32(p*r) + c[10]
	rr := float32(r * r)
	p = float32(p * rr)
	p = p + r
	p = p + c[11]
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// ExpSum sets dst[j] = e^(scale·s[j] − m) where keep[j] ≠ 0 and 0 elsewhere,
// and returns the sum of dst. The sum is kept in eight lanes (element j in
// lane j mod 8) and the lanes added as ((0+4)+(2+6))+((1+5)+(3+7)).
func ExpSum(dst, s, keep []float32, scale, m float32) float32 {
	n := len(dst)
	s, keep = s[:n], keep[:n]
	var acc [8]float32
	done := expSumAsm(dst, s, keep, scale, m, &acc)
	for j := done; j < n; j++ {
		var e float32
		if keep[j] != 0 {
			e = exp(float32(scale*s[j]) - m)
		}
		dst[j] = e
		acc[j%8] += e
	}
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

// MaskedMax returns the largest scale·s[j] over j with keep[j] ≠ 0, or −∞
// when every key is masked. A NaN is passed over, as by the comparison
// t > m.
func MaskedMax(s, keep []float32, scale float32) float32 {
	n := len(s)
	keep = keep[:n]
	m := float32(math.Inf(-1))
	done := maskedMaxAsm(s, keep, scale, &m)
	for j := done; j < n; j++ {
		if t := float32(scale * s[j]); keep[j] != 0 && t > m {
			m = t
		}
	}
	return m
}

// Scale multiplies x by c in place.
func Scale(x []float32, c float32) {
	done := scaleAsm(x, c)
	for j := done; j < len(x); j++ {
		x[j] *= c
	}
}

// SoftmaxGradRow sets gs[j] = float32((scale·w[j])·(gw[j] − Σ w·gw)), the
// gradient of a scaled softmax row at its input given its output w and
// output gradient gw, in float64 with the dot product kept in four lanes
// (element j in lane j mod 4) added as (0+2)+(1+3).
func SoftmaxGradRow(gs, w, gw []float32, scale float64) {
	n := len(w)
	gs, gw = gs[:n], gw[:n]
	var lanes [4]float64
	done := dotAsm(w, gw, &lanes)
	for j := done; j < n; j++ {
		lanes[j%4] += float64(float64(w[j]) * float64(gw[j]))
	}
	dot := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
	done = softmaxGradAsm(gs, w, gw, scale, dot)
	for j := done; j < n; j++ {
		gs[j] = float32(float64(scale*float64(w[j])) * float64(float64(gw[j])-dot))
	}
}
