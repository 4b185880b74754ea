package train

import (
	"errors"
	"strings"
	"testing"
)

// TestHeldOutMemory: generated held-out sets are refused before any is
// generated when they would not fit, on both sides of the threshold, and
// the refusal names the setting to lower. -val-examples 100000000 took all
// 24 GB of a machine before.
func TestHeldOutMemory(t *testing.T) {
	const maxLen = 12
	per := heldOutBytes(1, maxLen)
	avail := 1000 * per
	for _, c := range []struct {
		val, test int
		want      string // "" for accepted
	}{
		{500, 500, ""},
		{999, 1, ""},
		{1000, 1, "lower {-val_examples}"},
		{1, 1000, "lower {-test_examples}"},
		{100000000, 1000, "need about"},
	} {
		err := heldOutFits(c.val, c.test, maxLen, avail)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("val %d test %d in %d bytes: %v, want accepted", c.val, c.test, avail, err)
		case c.want != "" && (err == nil || !errors.Is(err, ErrGraphTooLarge) || !strings.Contains(rawSetting(err), c.want)):
			t.Errorf("val %d test %d in %d bytes: %v, want ErrGraphTooLarge saying %q", c.val, c.test, avail, err, c.want)
		}
	}
	// Sizes whose bytes overflow are refused, not wrapped around.
	if err := heldOutFits(1<<62, 1<<62, maxLen, avail); err == nil {
		t.Error("2^63 examples accepted")
	}
}

// rawSetting is a SettingError's text with its keys in braces, as
// written, so a test can check the setting named without a renderer.
func rawSetting(err error) string {
	var se *SettingError
	if !errors.As(err, &se) {
		return err.Error()
	}
	return se.Render(func(key string, dash bool) string {
		if dash {
			return "{-" + key + "}"
		}
		return "{" + key + "}"
	})
}
