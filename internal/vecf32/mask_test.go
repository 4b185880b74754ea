package vecf32

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPassNonzeroBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	special := []float32{0, float32(math.NaN()), float32(math.Inf(1)), 1e-45, 3}
	for n := 0; n <= 40; n++ {
		y, g := make([]float32, n), make([]float32, n)
		for j := range y {
			if rng.IntN(2) == 0 {
				y[j] = special[rng.IntN(len(special))]
			} else {
				y[j] = float32(max(rng.NormFloat64(), 0))
			}
			g[j] = float32(rng.NormFloat64())
		}
		got := make([]float32, n)
		PassNonzero(got, y, g)
		for j := range got {
			want := float32(0)
			if y[j] != 0 {
				want = g[j]
			}
			if math.Float32bits(got[j]) != math.Float32bits(want) {
				t.Fatalf("n=%d: y=%v g=%v: got %v, want %v", n, y[j], g[j], got[j], want)
			}
		}
	}
}
