package train

import (
	"errors"
	"math"
	"testing"

	"github.com/qkv-dev/qkv/layers"
)

// TestInspect: the queries and keys Inspect reads out are the ones the
// model attends with: softmax(q_i·k_j/√d_k) over each row equals the
// weights Inspect returns, which equal Evaluator.Attention's, for
// post-norm and pre-norm models, trained a little so that nothing is at
// its initial value.
func TestInspect(t *testing.T) {
	for _, norm := range []layers.NormPlacement{layers.PostNorm, layers.PreNorm} {
		t.Run(string(norm), func(t *testing.T) {
			c := tinyConfig(t, "reverse")
			c.Norm, c.Layers, c.Steps = norm, 2, 20
			c.Dtype = "float64"
			mustRun(t, c)
			ck, err := OpenRun(c.Out, Latest, func(string) {})
			if err != nil {
				t.Fatal(err)
			}
			ev := NewEvaluator(ck.Model)
			defer ev.Close()
			input := []int{3, 5, 4, 7, 2}
			ins, err := ev.Inspect(input)
			if err != nil {
				t.Fatal(err)
			}
			att, err := ev.Attention(input)
			if err != nil {
				t.Fatal(err)
			}
			dk := c.DModel / c.Heads
			if len(ins.Weights) != c.Layers || len(ins.Q[0]) != c.Heads || len(ins.Q[0][0]) != len(input) || len(ins.K[1][1][4]) != dk {
				t.Fatalf("shapes: %d layers, %d heads, %d positions, d_k %d", len(ins.Weights), len(ins.Q[0]), len(ins.Q[0][0]), len(ins.K[1][1][4]))
			}
			for l := range ins.Weights {
				for h := range ins.Weights[l] {
					for i := range input {
						scores := make([]float64, len(input))
						top := math.Inf(-1)
						for j := range input {
							for d := range dk {
								scores[j] += ins.Q[l][h][i][d] * ins.K[l][h][j][d]
							}
							scores[j] /= math.Sqrt(float64(dk))
							top = max(top, scores[j])
						}
						sum := 0.0
						for j := range scores {
							scores[j] = math.Exp(scores[j] - top)
							sum += scores[j]
						}
						for j := range input {
							w := ins.Weights[l][h][i][j]
							if soft := scores[j] / sum; math.Abs(soft-w) > 1e-12 {
								t.Fatalf("layer %d head %d: softmax(q_%d·k_%d/√d_k) = %v, Inspect's weight %v", l, h, i, j, soft, w)
							}
							if math.Abs(att[l][h][i][j]-w) > 1e-12 {
								t.Fatalf("layer %d head %d [%d,%d]: Inspect %v, Attention %v", l, h, i, j, w, att[l][h][i][j])
							}
						}
					}
				}
			}
		})
	}
}

func TestInspectLSTM(t *testing.T) {
	c := tinyConfig(t, "reverse")
	c.Model, c.Heads, c.Steps, c.Warmup = LSTM, 1, 1, 0
	mustRun(t, c)
	ck, err := OpenRun(c.Out, Latest, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(ck.Model)
	defer ev.Close()
	if _, err := ev.Inspect([]int{3, 4}); !errors.Is(err, ErrNoAttention) {
		t.Errorf("Inspect of an LSTM = %v, want ErrNoAttention", err)
	}
}
