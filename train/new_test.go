package train

import (
	"strings"
	"testing"
)

// TestNewRefusesExistingRun: a fresh run never writes over a directory that
// holds another run's checkpoints.
func TestNewRefusesExistingRun(t *testing.T) {
	c := tinyConfig(t, "copy")
	mustRun(t, c)
	before := stepDirs(t, c.Out)
	_, err := New(c)
	if err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Fatalf("New on a used run directory: error %v, want one saying it already holds a run", err)
	}
	if after := stepDirs(t, c.Out); len(after) != len(before) {
		t.Errorf("checkpoints changed: %v → %v", before, after)
	}
}
