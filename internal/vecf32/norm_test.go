package vecf32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// normRowGo is NormRow without the assembly.
func normRowGo(y, x, g, b []float32, eps float64) (mean, rstd float64) {
	var lanes [4]float64
	for j, v := range x {
		lanes[j%4] += float64(v)
	}
	mean = ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) / float64(len(x))
	lanes = [4]float64{}
	for j, v := range x {
		dv := float64(v) - mean
		lanes[j%4] += float64(dv * dv)
	}
	rstd = 1 / math.Sqrt(((lanes[0]+lanes[2])+(lanes[1]+lanes[3]))/float64(len(x))+eps)
	for j, v := range x {
		y[j] = float32(float32((float64(v)-mean)*rstd)*g[j]) + b[j]
	}
	return mean, rstd
}

func TestNormRowBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for d := 1; d <= 70; d++ {
		for trial := 0; trial < 10; trial++ {
			x, g, b := make([]float32, d), make([]float32, d), make([]float32, d)
			shift := rng.NormFloat64() * 100
			for j := range x {
				x[j] = float32(shift + rng.NormFloat64())
				g[j] = float32(1 + 0.1*rng.NormFloat64())
				b[j] = float32(0.1 * rng.NormFloat64())
			}
			got, want := make([]float32, d), make([]float32, d)
			gm, gr := NormRow(got, x, g, b, 1e-5)
			wm, wr := normRowGo(want, x, g, b, 1e-5)
			if gm != wm || gr != wr {
				t.Fatalf("d=%d: stats (%v, %v), want (%v, %v)", d, gm, gr, wm, wr)
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("d=%d: y[%d] = %v, want %v", d, j, got[j], want[j])
				}
			}
		}
	}
}
