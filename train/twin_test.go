package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// TestComposedTrainingStep runs one training step of each architecture
// twice on the same weights, batch and dropout masks, once on the fused ops
// and once on their composed twins, and wants the same loss and gradients
// (≤ 1e-10 relative, float64).
func TestComposedTrainingStep(t *testing.T) {
	const b, n = 3, 5
	for _, tc := range []struct {
		name string
		cfg  ModelConfig
	}{
		{"transformer post-norm relu tagging", ModelConfig{Kind: data.Tagging, InVocab: 9, OutVocab: 9, MaxLen: 8, Architecture: Architecture{
			DModel: 8, Layers: 2, Dropout: 0.1, Dtype: Float64,
			TransformerConfig: TransformerConfig{Heads: 2, DFF: 12, Activation: layers.ReLU, Norm: layers.PostNorm, Positional: layers.Sinusoidal}}}},
		{"transformer pre-norm gelu learned classification", ModelConfig{Kind: data.Classification, InVocab: 9, OutVocab: 4, MaxLen: 8, Architecture: Architecture{
			DModel: 8, Layers: 1, Dropout: 0.1, Dtype: Float64,
			TransformerConfig: TransformerConfig{Heads: 2, DFF: 12, Activation: layers.GELU, Norm: layers.PreNorm, Positional: layers.Learned}}}},
		{"bidirectional lstm tagging", ModelConfig{Kind: data.Tagging, InVocab: 9, OutVocab: 9, MaxLen: 8, Architecture: Architecture{
			Model: LSTM, DModel: 6, Layers: 2, Dropout: 0.1, Dtype: Float64, LSTMConfig: LSTMConfig{Directions: 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewModel(tc.cfg, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				t.Fatal(err)
			}
			step := func(composed bool) (float64, [][]float64) {
				m.composed = composed
				gr, err := m.Build(b, n, Training)
				if err != nil {
					t.Fatal(err)
				}
				defer gr.Close()
				rng := rand.New(rand.NewPCG(5, 6))
				lens := []int{n, 2, 4}
				ids, keep := make([]float64, b*n), make([]float64, b*n)
				for i := range ids {
					if i%n < lens[i/n] {
						ids[i], keep[i] = float64(2+rng.IntN(7)), 1
					}
				}
				targets := make([]float64, gr.Targets.Shape().TotalSize())
				for i := range targets {
					targets[i] = float64(rng.IntN(tc.cfg.OutVocab))
					if tc.cfg.Kind == data.Tagging && keep[i] == 0 {
						targets[i] = nn.IgnoreTarget
					}
				}
				nn.FromFloat64s(gr.Ids, ids)
				nn.FromFloat64s(gr.Keep, keep)
				nn.FromFloat64s(gr.Targets, targets)
				gr.SampleDropout(rand.New(rand.NewPCG(7, 8)))
				if err := gr.Prog.Run(); err != nil {
					t.Fatal(err)
				}
				var grads [][]float64
				for _, g := range gr.Prog.Grads() {
					grads = append(grads, nn.ToFloat64s(g))
				}
				return gr.Prog.Loss(), grads
			}
			fl, fg := step(false)
			cl, cg := step(true)
			rel := func(a, b float64) float64 {
				return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-6)
			}
			if d := rel(fl, cl); !(d <= 1e-10) {
				t.Errorf("loss %.15g fused, %.15g composed", fl, cl)
			}
			if len(fg) != len(m.Params()) || len(cg) != len(fg) {
				t.Fatalf("%d gradients fused, %d composed, %d parameters", len(fg), len(cg), len(m.Params()))
			}
			nonzero := 0
			for i, p := range m.Params() {
				for j := range fg[i] {
					if fg[i][j] != 0 {
						nonzero++
					}
					if d := rel(fg[i][j], cg[i][j]); !(d <= 1e-10) {
						t.Errorf("%s[%d]: gradient %.15g fused, %.15g composed", p.Name(), j, fg[i][j], cg[i][j])
						break
					}
				}
			}
			if nonzero == 0 {
				t.Error("every gradient is zero")
			}
			t.Logf("loss %.12g, %d non-zero gradient elements", fl, nonzero)
		})
	}
}
