package vecf64

import (
	"math"
	"math/rand/v2"
	"testing"
)

// normRowGo is NormRow without the assembly.
func normRowGo(y, x, g, b []float64, eps float64) (mean, rstd float64) {
	var lanes [4]float64
	for j, v := range x {
		lanes[j%4] += v
	}
	mean = ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) / float64(len(x))
	lanes = [4]float64{}
	for j, v := range x {
		dv := v - mean
		lanes[j%4] += float64(dv * dv)
	}
	rstd = 1 / math.Sqrt(((lanes[0]+lanes[2])+(lanes[1]+lanes[3]))/float64(len(x))+eps)
	for j, v := range x {
		y[j] = float64(float64((v-mean)*rstd)*g[j]) + b[j]
	}
	return mean, rstd
}

func TestNormRowBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for d := 1; d <= 70; d++ {
		for trial := 0; trial < 10; trial++ {
			x, g, b := make([]float64, d), make([]float64, d), make([]float64, d)
			shift := rng.NormFloat64() * 100
			for j := range x {
				x[j] = shift + rng.NormFloat64()
				g[j] = 1 + 0.1*rng.NormFloat64()
				b[j] = 0.1 * rng.NormFloat64()
			}
			got, want := make([]float64, d), make([]float64, d)
			gm, gr := NormRow(got, x, g, b, 1e-5)
			wm, wr := normRowGo(want, x, g, b, 1e-5)
			if !same(gm, wm) || !same(gr, wr) {
				t.Fatalf("d=%d: stats (%v, %v), want (%v, %v)", d, gm, gr, wm, wr)
			}
			for j := range got {
				if !same(got[j], want[j]) {
					t.Fatalf("d=%d: y[%d] = %v, want %v", d, j, got[j], want[j])
				}
			}
		}
	}
}

// normGradRowGo is NormGradRow without the assembly.
func normGradRowGo(gx, x, g, gy []float64, mean, rstd float64) {
	var lanes [8]float64
	for j := range x {
		gh := float64(gy[j] * g[j])
		lanes[j%4] += gh
		lanes[4+j%4] += float64(float64(gh*(x[j]-mean)) * rstd)
	}
	mg := ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) / float64(len(x))
	mgx := ((lanes[4] + lanes[6]) + (lanes[5] + lanes[7])) / float64(len(x))
	for j := range x {
		xh := float64((x[j] - mean) * rstd)
		gh := float64(gy[j] * g[j])
		gx[j] = rstd * (float64(gh-mg) - float64(xh*mgx))
	}
}

func TestNormGradRowBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for d := 1; d <= 70; d++ {
		for trial := 0; trial < 10; trial++ {
			x, g, gy := make([]float64, d), make([]float64, d), make([]float64, d)
			for j := range x {
				x[j] = 3 + rng.NormFloat64()
				g[j] = 1 + 0.1*rng.NormFloat64()
				gy[j] = rng.NormFloat64()
			}
			mean, rstd := 3+0.1*rng.NormFloat64(), 1+0.1*rng.NormFloat64()
			got, want := make([]float64, d), make([]float64, d)
			NormGradRow(got, x, g, gy, mean, rstd)
			normGradRowGo(want, x, g, gy, mean, rstd)
			for j := range got {
				if !same(got[j], want[j]) {
					t.Fatalf("d=%d: gx[%d] = %v, want %v", d, j, got[j], want[j])
				}
			}
		}
	}
}
