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
