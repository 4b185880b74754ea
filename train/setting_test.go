package train

import (
	"errors"
	"testing"
)

// TestSettingErrorNames checks that Validate names settings by their config
// keys, and that Render names them as a command's flags would.
func TestSettingErrorNames(t *testing.T) {
	asFlags := func(key string, dash bool) string {
		f := []byte(key)
		for i, c := range f {
			if c == '_' {
				f[i] = '-'
			}
		}
		if dash {
			return "-" + string(f)
		}
		return string(f)
	}
	for _, tt := range []struct {
		name     string
		edit     func(*Config)
		key      string
		lib, cmd string
	}{
		{"heads", func(c *Config) { c.DModel, c.Heads = 30, 4 }, "d_model", "d_model 30 is not divisible by heads 4", "d-model 30 is not divisible by heads 4"},
		{"val without data", func(c *Config) { c.Val = "v.tsv" }, "val", "val needs data", "-val needs -data"},
		{"warmup", func(c *Config) { c.Steps, c.Warmup = 2, 5 }, "warmup", "warmup 5 must be below steps 2", "-warmup 5 must be below -steps 2"},
	} {
		c := Default()
		tt.edit(&c)
		var se *SettingError
		if err := c.Validate(); !errors.As(err, &se) {
			t.Fatalf("%s: Validate() = %v, want a *SettingError", tt.name, err)
		}
		if se.Key != tt.key || se.Error() != tt.lib || se.Render(asFlags) != tt.cmd {
			t.Errorf("%s: key %q, Error() %q, Render %q; want %q, %q, %q", tt.name, se.Key, se.Error(), se.Render(asFlags), tt.key, tt.lib, tt.cmd)
		}
	}
}
