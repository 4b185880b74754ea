package vecf64

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAddRowsBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{1, 3, 4, 5, 8, 31, 64, 70} {
		for _, pad := range []int{0, 5} {
			for _, rows := range []int{0, 1, 2, 13} {
				stride := m + pad
				x := make([]float64, max(0, (rows-1)*stride+m))
				for i := range x {
					x[i] = rng.NormFloat64() * 1e3
				}
				got, want := make([]float64, m), make([]float64, m)
				for j := range got {
					got[j] = rng.NormFloat64()
					want[j] = got[j]
				}
				AddRows(got, x, stride)
				for r := 0; r < rows; r++ {
					for j := range want {
						want[j] += x[r*stride+j]
					}
				}
				for j := range got {
					if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
						t.Fatalf("m=%d pad=%d rows=%d: out[%d] = %v, want %v", m, pad, rows, j, got[j], want[j])
					}
				}
			}
		}
	}
}
