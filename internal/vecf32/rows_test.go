package vecf32

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAddRowsBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{1, 7, 8, 9, 16, 31, 64, 70} {
		for _, pad := range []int{0, 5} {
			for _, rows := range []int{0, 1, 2, 13} {
				stride := m + pad
				x := make([]float32, max(0, (rows-1)*stride+m))
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 1e3)
				}
				got, want := make([]float32, m), make([]float32, m)
				for j := range got {
					got[j] = float32(rng.NormFloat64())
					want[j] = got[j]
				}
				AddRows(got, x, stride)
				for r := 0; r < rows; r++ {
					for j := range want {
						want[j] += x[r*stride+j]
					}
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("m=%d pad=%d rows=%d: out[%d] = %v, want %v", m, pad, rows, j, got[j], want[j])
					}
				}
			}
		}
	}
}
