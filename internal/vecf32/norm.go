package vecf32

import "math"

// NormRow normalises one row for layer normalisation,
//
//	y[j] = float32((x[j] − mean)·rstd)·g[j] + b[j]
//
// with mean = Σx/d and rstd = 1/√(Σ(x − mean)²/d + eps) accumulated in
// float64, and returns mean and rstd. Each sum is kept in four lanes
// (element j in lane j mod 4) added as (0+2)+(1+3) at the end, so the
// assembly and the Go loop give the same bits.
func NormRow(y, x, g, b []float32, eps float64) (mean, rstd float64) {
	d := len(x)
	y, g, b = y[:d], g[:d], b[:d]
	var lanes [4]float64
	done := sumAsm(x, &lanes)
	for j := done; j < d; j++ {
		lanes[j%4] += float64(x[j])
	}
	mean = ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) / float64(d)
	lanes = [4]float64{}
	done = sqDevAsm(x, mean, &lanes)
	for j := done; j < d; j++ {
		dv := float64(x[j]) - mean
		lanes[j%4] += float64(dv * dv) // rounded before the sum, as the assembly
	}
	v := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
	rstd = 1 / math.Sqrt(v/float64(d)+eps)
	done = normAsm(y, x, g, b, mean, rstd)
	for j := done; j < d; j++ {
		y[j] = float32(float32((float64(x[j])-mean)*rstd)*g[j]) + b[j]
	}
	return mean, rstd
}
