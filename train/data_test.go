package train

import (
	"strings"
	"testing"
)

// TestDecodeConfigStrict checks that a config file sets exactly what it
// spells: keys as in config.json, each once, each with a value; a
// byte-order mark before the object is no error.
func TestDecodeConfigStrict(t *testing.T) {
	for _, tt := range []struct {
		name, json string
		want       string // part of the error; "" for none
	}{
		{"exact key", `{"d_model": 8}`, ""},
		{"byte-order mark", "\uFEFF" + `{"d_model": 8}`, ""},
		{"key in another case", `{"D_Model": 8}`, `unknown key "D_Model" (did you mean "d_model"?)`},
		{"null value", `{"d_model": null}`, `key "d_model" is null`},
		{"key twice", `{"d_model": 8, "d_model": 16}`, `key "d_model" appears more than once`},
		// Messages in the file's terms, not Go's ("Go struct field
		// Config.activation of type layers.Activation", "EOF").
		{"empty file", "", `the file is empty: want a JSON object of settings`},
		{"blank file", " \n\t", `the file is empty`},
		{"unclosed", `{"d_model": 8`, `the JSON ends early`},
		{"trailing comma", `{"d_model": 8,}`, `invalid JSON after byte 14`},
		{"number for a choice", `{"activation": 3}`, `key "activation": got number, want a string: relu or gelu`},
		{"bool for a choice", `{"norm": true}`, `key "norm": got bool, want a string: post or pre`},
		{"number for the model", `{"model": 3}`, `key "model": got number, want a string: transformer, gru, lstm or toy`}, // toy: toy_backbone_test.go
		{"number for the mask", `{"mask": 1}`, `key "mask": got number, want a string: padding or causal`},
		{"string for a size", `{"heads": "4"}`, `key "heads": got string, want a whole number`},
		{"fraction for a size", `{"heads": 4.5}`, `key "heads": got number 4.5, want a whole number`},
		{"negative seed", `{"seed": -1}`, `key "seed": got number -1, want a whole number from 0`},
		{"string for a rate", `{"lr": "fast"}`, `key "lr": got string, want a number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			err := DecodeConfig(strings.NewReader(tt.json), &c)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("DecodeConfig(%q): %v", tt.json, err)
			case tt.want == "" && c.DModel != 8:
				t.Errorf("DecodeConfig(%q): d_model %d, want 8", tt.json, c.DModel)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("DecodeConfig(%q) = %v, want an error containing %q", tt.json, err, tt.want)
			case tt.want != "" && c.DModel != Default().DModel:
				t.Errorf("DecodeConfig(%q) refused the file but set d_model %d", tt.json, c.DModel)
			}
		})
	}
}

// TestOptimizerName: the default run has weight decay 0, which is Adam;
// it was called AdamW.
func TestOptimizerName(t *testing.T) {
	c := Default()
	if got := c.Optimizer(); !strings.HasPrefix(got, "Adam, lr 0.001") {
		t.Errorf("default Optimizer() = %q, want Adam", got)
	}
	c.WeightDecay = 0.01
	if got := c.Optimizer(); !strings.HasPrefix(got, "AdamW (weight decay 0.01), lr ") {
		t.Errorf("Optimizer() with weight decay 0.01 = %q, want AdamW", got)
	}
}
