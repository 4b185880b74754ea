package bench

import (
	"testing"

	"github.com/qkv-dev/qkv/train"
)

// BenchmarkTrain measures a training step (forward, backward, clipping,
// AdamW) at each size, in tokens per second.
func BenchmarkTrain(b *testing.B) { benchSizes(b, true) }

// BenchmarkForward measures a forward pass of the evaluation graph (loss and
// logits, no gradients) at each size, in tokens per second.
func BenchmarkForward(b *testing.B) { benchSizes(b, false) }

func benchSizes(b *testing.B, training bool) {
	for _, s := range Sizes {
		for _, dtype := range []string{"float32", "float64"} {
			b.Run(s.Name+"/"+dtype, func(b *testing.B) {
				r, err := NewRun(s, dtype, training)
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				for range 3 { // warm up: optimizer state, pools, packed buffers
					if _, err := r.Step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				tokens := 0
				for i := 0; i < b.N; i++ {
					n, err := r.Step()
					if err != nil {
						b.Fatal(err)
					}
					tokens += n
				}
				b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// TestRunSteps keeps the harness working: every size builds and one step of
// each mode runs with a finite loss.
func TestRunSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the large model")
	}
	for _, s := range Sizes {
		for _, training := range []bool{true, false} {
			r, err := NewRun(s, "float32", training)
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			n, err := r.Step()
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			if n != s.Batch*s.Len {
				t.Errorf("%s: step processed %d tokens, want %d", s.Name, n, s.Batch*s.Len)
			}
			r.Close()
		}
	}
}

// TestEvalGraphBytes checks the allowance compare.sh's memory rule gives
// one evaluation graph: more than the layers' outputs the graph must hold
// (one [rows·T, d_model] float32 tensor per layer) and no more than
// train.GraphBytes, the estimate qkv-train sizes its evaluation batches by.
func TestEvalGraphBytes(t *testing.T) {
	s := Sizes[0]
	got, err := EvalGraphBytes(s)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := EvalBatch(s)
	if err != nil {
		t.Fatal(err)
	}
	_, mc, err := copyModel(s)
	if err != nil {
		t.Fatal(err)
	}
	low := int64(rows * s.Len * s.DModel * 4 * s.Layers)
	high := train.GraphBytes(mc, rows, s.Len, false)
	if got < low || got > high {
		t.Errorf("one evaluation graph at %s (%d rows): %d bytes, want between %d (its layers' outputs) and %d (train.GraphBytes)", s.Name, rows, got, low, high)
	}
}
