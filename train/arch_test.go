package train

import (
	"math/rand/v2"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
)

// TestParamCount checks the parameter count the memory estimate uses
// against the model each architecture really builds.
func TestParamCount(t *testing.T) {
	for _, mc := range []ModelConfig{
		{Kind: data.Tagging, InVocab: 12, OutVocab: 9, MaxLen: 20, Architecture: Architecture{DModel: 32, Layers: 2, Dtype: Float32,
			TransformerConfig: TransformerConfig{Heads: 4, DFF: 64, Activation: layers.ReLU, Norm: layers.PreNorm, Positional: layers.Learned}}},
		{Kind: data.Tagging, InVocab: 12, OutVocab: 9, MaxLen: 20, Architecture: Architecture{DModel: 32, Layers: 3, Dtype: Float32, Model: LSTM, LSTMConfig: LSTMConfig{Directions: 2}}},
		{Kind: data.Classification, InVocab: 7, OutVocab: 2, MaxLen: 20, Architecture: Architecture{DModel: 16, Layers: 2, Dtype: Float64, Model: LSTM, LSTMConfig: LSTMConfig{Directions: 1}}},
	} {
		m, err := NewModel(mc, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := paramCount(mc), int64(m.NumParams()); got != want {
			t.Errorf("%s %d layers: paramCount %d, model has %d", mc.Model, mc.Layers, got, want)
		}
	}
}
