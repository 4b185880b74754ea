package layers

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// TestAttentionWeightsMasked: over a batch with different amounts of
// padding, every query's weights sum to 1 over real keys and are exactly 0
// on padded keys, in float32 and float64.
func TestAttentionWeightsMasked(t *testing.T) {
	const b, tt, d, h = 3, 5, 8, 2
	lengths := []int{5, 3, 1}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			rng := newRand(21)
			a, err := NewMultiHeadAttention("attn", AttentionConfig{DModel: d, Heads: h, Dtype: dt}, rng)
			if err != nil {
				t.Fatal(err)
			}
			g, err := nn.NewGraph(dt, false)
			if err != nil {
				t.Fatal(err)
			}
			x, xv, _ := g.Input("x", b, tt, d)
			vals := make([]float64, b*tt*d)
			for i := range vals {
				vals[i] = 3 * rng.NormFloat64()
			}
			nn.FromFloat64s(xv, vals)
			keepVals := make([]float64, b*tt)
			for i, n := range lengths {
				for j := 0; j < n; j++ {
					keepVals[i*tt+j] = 1
				}
			}
			keep, kv, _ := g.Input("keep", b, tt)
			nn.FromFloat64s(kv, keepVals)
			_, w, err := a.Forward(g, x, keep)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := nn.Compile(g, nil, false, w)
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			ws := nn.ToFloat64s(prog.Output(0))
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-6
			}
			for i := 0; i < b; i++ {
				for head := 0; head < h; head++ {
					for q := 0; q < tt; q++ {
						row := ws[((i*h+head)*tt+q)*tt:][:tt]
						var sum float64
						for k, v := range row {
							if k >= lengths[i] {
								if v != 0 {
									t.Errorf("batch %d head %d query %d: weight %v on padded key %d, want exactly 0", i, head, q, v, k)
								}
								continue
							}
							sum += v
						}
						if math.Abs(sum-1) > tol {
							t.Errorf("batch %d head %d query %d: weights sum to %v over real keys, want 1", i, head, q, sum)
						}
					}
				}
			}
		})
	}
}

// TestSinusoidalTable compares the table with the paper's formula written
// out independently, for an odd width too.
func TestSinusoidalTable(t *testing.T) {
	for _, d := range []int{4, 7, 64} {
		n := 50
		pe := SinusoidalTable(n, d)
		for pos := 0; pos < n; pos++ {
			for j := 0; j < d; j++ {
				i := j / 2 // PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(…)
				angle := float64(pos) * math.Exp(-float64(2*i)*math.Log(10000)/float64(d))
				want := math.Sin(angle)
				if j%2 == 1 {
					want = math.Cos(angle)
				}
				if got := pe[pos*d+j]; math.Abs(got-want) > 1e-12 {
					t.Fatalf("d=%d: PE(%d, %d) = %v, want %v", d, pos, j, got, want)
				}
			}
		}
	}
}

// TestRepeatedRunsAgree: Gorgonia's tape machine reuses memory in place;
// running one compiled training graph several times on the same inputs and
// masks must give the same loss and gradients every time.
func TestRepeatedRunsAgree(t *testing.T) {
	rng := newRand(9)
	enc, err := NewEncoder("encoder", EncoderConfig{Layers: 2, Layer: layerConfig(false, GELU, 0.2)}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := input(t, rng, gB, gT, gD)
	g, _ := nn.NewGraph(tensor.Float64, true)
	xn, _ := g.Param(x)
	keep, err := feed(g, "keep", keepMask, gB, gT)
	if err != nil {
		t.Fatal(err)
	}
	y, _, err := enc.Forward(g, xn, keep)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := nn.WeightedSum(g, "r", y, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g, loss, true)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	g.SampleDropout(newRand(2))
	var firstLoss float64
	var firstGrads [][]float64
	for run := 0; run < 4; run++ {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			firstLoss = prog.Loss()
			for _, gr := range prog.Grads() {
				firstGrads = append(firstGrads, nn.ToFloat64s(gr))
			}
			continue
		}
		if l := prog.Loss(); l != firstLoss {
			t.Fatalf("run %d: loss %v, first run %v", run, l, firstLoss)
		}
		for i, gr := range prog.Grads() {
			for j, v := range nn.ToFloat64s(gr) {
				if v != firstGrads[i][j] {
					t.Fatalf("run %d: gradient of %s[%d] = %v, first run %v (gradients accumulate?)", run, g.Params()[i].Name(), j, v, firstGrads[i][j])
				}
			}
		}
	}
}
