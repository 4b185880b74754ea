package layers

import (
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// TestConstructorsReject: configurations that cannot be built return an
// error that says why; none panics.
func TestConstructorsReject(t *testing.T) {
	f32 := tensor.Float32
	layer := func(mod func(*EncoderLayerConfig)) error {
		c := EncoderLayerConfig{DModel: 8, Heads: 2, DFF: 16, Activation: ReLU, Dtype: f32}
		mod(&c)
		_, err := NewEncoderLayer("layer", c, newRand(1))
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"heads do not divide d_model", layer(func(c *EncoderLayerConfig) { c.DModel, c.Heads = 30, 4 }), "not divisible"},
		{"zero heads", layer(func(c *EncoderLayerConfig) { c.Heads = 0 }), "must be positive"},
		{"negative d_ff", layer(func(c *EncoderLayerConfig) { c.DFF = -1 }), "must be positive"},
		{"unknown activation", layer(func(c *EncoderLayerConfig) { c.Activation = "tanh" }), "unknown activation"},
		{"dropout 1", layer(func(c *EncoderLayerConfig) { c.Dropout = 1 }), "dropout"},
		{"integer dtype", layer(func(c *EncoderLayerConfig) { c.Dtype = tensor.Int }), "dtype"},
		{"zero layers", func() error {
			_, err := NewEncoder("enc", EncoderConfig{Layers: 0, Layer: EncoderLayerConfig{DModel: 8, Heads: 2, DFF: 16, Activation: ReLU, Dtype: f32}}, newRand(1))
			return err
		}(), "layers must be positive"},
		{"unknown positional kind", func() error {
			_, err := NewPositionalEncoding("pos", PositionalConfig{Kind: "spiral", DModel: 8, MaxLen: 10, Dtype: f32}, newRand(1))
			return err
		}(), "unknown kind"},
		{"learned without length", func() error {
			_, err := NewPositionalEncoding("pos", PositionalConfig{Kind: Learned, DModel: 8, MaxLen: 0, Dtype: f32}, newRand(1))
			return err
		}(), "max length"},
		{"empty embedding", func() error {
			_, err := NewEmbedding("embed", EmbeddingConfig{Vocab: 0, DModel: 8, Scale: true, Dtype: f32}, newRand(1))
			return err
		}(), "must be positive"},
		{"negative linear", func() error {
			_, err := NewLinear("lin", LinearConfig{In: 4, Out: -2, Dtype: f32}, newRand(1))
			return err
		}(), "must be positive"},
		{"bad parameter name", func() error {
			_, err := NewLinear("lin..x", LinearConfig{In: 4, Out: 2, Dtype: f32}, newRand(1))
			return err
		}(), "invalid parameter name"},
		{"layer norm eps", func() error {
			_, err := NewLayerNorm("ln", LayerNormConfig{D: 4, Eps: 0, Dtype: f32})
			return err
		}(), "eps"},
	}
	for _, tc := range tests {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
}

// TestParamNamesUnique: an encoder's parameters have distinct hierarchical
// names.
func TestParamNamesUnique(t *testing.T) {
	enc, err := NewEncoder("encoder", EncoderConfig{Layers: 3, Layer: layerConfig(true, GELU, 0), FinalNorm: true}, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range enc.Params() {
		if seen[p.Name()] {
			t.Errorf("duplicate name %s", p.Name())
		}
		seen[p.Name()] = true
	}
	for _, want := range []string{"encoder.layers.0.attn.q.weight", "encoder.layers.2.ff.linear2.bias", "encoder.norm.weight"} {
		if !seen[want] {
			t.Errorf("no parameter %s", want)
		}
	}
}
