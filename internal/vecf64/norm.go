package vecf64

import "math"

// NormRow normalises one row for layer normalisation,
//
//	y[j] = ((x[j] − mean)·rstd)·g[j] + b[j]
//
// with mean = Σx/d and rstd = 1/√(Σ(x − mean)²/d + eps), and returns mean
// and rstd. Each sum is kept in four lanes (element j in lane j mod 4)
// added as (0+2)+(1+3) at the end, so the assembly and the Go loop give the
// same bits.
func NormRow(y, x, g, b []float64, eps float64) (mean, rstd float64) {
	d := len(x)
	y, g, b = y[:d], g[:d], b[:d]
	var lanes [4]float64
	done := sumAsm(x, &lanes)
	for j := done; j < d; j++ {
		lanes[j%4] += x[j]
	}
	mean = ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) / float64(d)
	lanes = [4]float64{}
	done = sqDevAsm(x, mean, &lanes)
	for j := done; j < d; j++ {
		dv := x[j] - mean
		lanes[j%4] += float64(dv * dv) // rounded before the sum, as the assembly
	}
	v := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
	rstd = 1 / math.Sqrt(v/float64(d)+eps)
	done = normAsm(y, x, g, b, mean, rstd)
	for j := done; j < d; j++ {
		y[j] = float64(float64((x[j]-mean)*rstd)*g[j]) + b[j]
	}
	return mean, rstd
}

// NormGradRow is the input gradient of NormRow for one row, given the
// row's mean and rstd: with x̂ = (x − mean)·rstd and ĝ = gy·g,
//
//	gx[j] = rstd·((ĝ[j] − mean(ĝ)) − x̂[j]·mean(ĝ·x̂))
//
// with the two means kept in four lanes each as in NormRow.
func NormGradRow(gx, x, g, gy []float64, mean, rstd float64) {
	d := len(x)
	gx, g, gy = gx[:d], g[:d], gy[:d]
	var lanes [8]float64 // Σĝ in 0–3, Σĝ·x̂ in 4–7
	done := normGradSumsAsm(x, g, gy, mean, rstd, &lanes)
	for j := done; j < d; j++ {
		gh := float64(gy[j] * g[j])
		lanes[j%4] += gh
		lanes[4+j%4] += float64(float64(gh*(x[j]-mean)) * rstd)
	}
	mg := ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) / float64(d)
	mgx := ((lanes[4] + lanes[6]) + (lanes[5] + lanes[7])) / float64(d)
	done = normGradAsm(gx, x, g, gy, mean, rstd, mg, mgx)
	for j := done; j < d; j++ {
		xh := float64((x[j] - mean) * rstd)
		gh := float64(gy[j] * g[j])
		gx[j] = rstd * (float64(gh-mg) - float64(xh*mgx))
	}
}
