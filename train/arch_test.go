package train

import (
	"math/rand/v2"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
)

// TestParamCount checks the parameter count the memory estimate uses (a
// model built with shapes only, extrapolated past two layers) against the
// model each architecture really builds.
func TestParamCount(t *testing.T) {
	for _, mc := range []ModelConfig{
		{Kind: data.Tagging, InVocab: 12, OutVocab: 9, MaxLen: 20, Architecture: Architecture{DModel: 32, Layers: 2, Dtype: Float32,
			TransformerConfig: TransformerConfig{Heads: 4, DFF: 64, Activation: layers.ReLU, Norm: layers.PreNorm, Positional: layers.Learned}}},
		{Kind: data.Classification, InVocab: 12, OutVocab: 9, MaxLen: 20, Architecture: Architecture{DModel: 16, Layers: 4, Dtype: Float64,
			TransformerConfig: TransformerConfig{Heads: 2, DFF: 24, Activation: layers.GELU, Norm: layers.PostNorm, Positional: layers.Sinusoidal}}},
		{Kind: data.Tagging, InVocab: 12, OutVocab: 9, MaxLen: 20, Architecture: Architecture{DModel: 32, Layers: 3, Dtype: Float32, Model: LSTM, LSTMConfig: LSTMConfig{Directions: 2}}},
		{Kind: data.Classification, InVocab: 7, OutVocab: 2, MaxLen: 20, Architecture: Architecture{DModel: 16, Layers: 2, Dtype: Float64, Model: LSTM, LSTMConfig: LSTMConfig{Directions: 1}}},
		{Kind: data.Tagging, InVocab: 12, OutVocab: 9, MaxLen: 20, Architecture: Architecture{DModel: 16, Layers: 3, Dtype: Float32, Model: GRU}},
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

// TestParamCountAbsurd: sizes no machine holds are counted without being
// built: a billion layers, or a d_ff of 3.2e10.
func TestParamCountAbsurd(t *testing.T) {
	mc := defaultModelConfig(data.Tagging)
	mc.Layers = 1_000_000_000
	if n := paramCount(mc); n < 3e13 { // 33 472 a layer
		t.Errorf("a billion layers: %d parameters", n)
	}
	mc = defaultModelConfig(data.Tagging)
	mc.DFF = 32_000_000_000
	if n := paramCount(mc); n < 2*2*64*32_000_000_000 {
		t.Errorf("d_ff 3.2e10: %d parameters", n)
	}
}
