package vecf64

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPassNonzeroBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	special := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), 5e-324, 3}
	for n := 0; n <= 40; n++ {
		y, g := make([]float64, n), make([]float64, n)
		for j := range y {
			if rng.IntN(2) == 0 {
				y[j] = special[rng.IntN(len(special))]
			} else {
				y[j] = max(rng.NormFloat64(), 0)
			}
			g[j] = rng.NormFloat64()
		}
		got := make([]float64, n)
		PassNonzero(got, y, g)
		for j := range got {
			want := 0.0
			if y[j] != 0 {
				want = g[j]
			}
			if math.Float64bits(got[j]) != math.Float64bits(want) {
				t.Fatalf("n=%d: y=%v g=%v: got %v, want %v", n, y[j], g[j], got[j], want)
			}
		}
	}
}
