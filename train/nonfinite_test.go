package train

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNonFiniteLoss: when the loss stops being finite, Run stops with
// ErrNonFinite naming the step, writes no checkpoint of that step, and the
// last good checkpoint still loads with finite weights.
func TestNonFiniteLoss(t *testing.T) {
	tests := []struct {
		name     string
		change   func(c *Config)
		poison   float64 // written into every weight after step poisonAt
		poisonAt int
		badStep  int // the step that must be named
	}{
		{"NaN weights, training step", nil, math.NaN(), 15, 16},
		{"+Inf weights, training step", nil, math.Inf(1), 15, 16},
		// Validation at step 20 is first to see the weights poisoned after
		// step 20; its loss must stop the run before the save of step 20.
		{"NaN weights, validation", nil, math.NaN(), 20, 20},
		// Without clipping, lr 1e30 makes every weight about ±1e30 after
		// step 1 (saved: finite, if useless); step 2's forward pass overflows.
		{"absurd learning rate", func(c *Config) {
			c.LR, c.Clip, c.Schedule = 1e30, 0, "constant"
			c.SaveEvery = 1
		}, 0, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tinyConfig(t, "copy")
			c.Steps, c.LogEvery, c.EvalEvery, c.SaveEvery = 40, 5, 10, 10
			if tt.change != nil {
				tt.change(&c)
			}
			tr := mustNew(t, c)
			if tt.poisonAt > 0 {
				tr.SetProgress(NewProgress(stepHook(func(step int) {
					if step == tt.poisonAt {
						setAll(t, tr.Model(), tt.poison)
					}
				}), false))
			}
			_, err := tr.Run(t.Context())
			if !errors.Is(err, ErrNonFinite) {
				t.Fatalf("Run = %v, want ErrNonFinite", err)
			}
			oneLine(t, err)
			if want := fmt.Sprintf("step %d:", tt.badStep); !strings.Contains(err.Error(), want) {
				t.Errorf("Run error %q does not name %q", err, want)
			}
			if !strings.Contains(err.Error(), c.Out) {
				t.Errorf("Run error %q does not name the run directory", err)
			}
			if _, err := os.Stat(filepath.Join(c.Out, stepDir(tt.badStep))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a checkpoint of the failed step %d exists (%v)", tt.badStep, err)
			}
			ck, err := OpenRun(c.Out, Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) })
			if err != nil {
				t.Fatalf("last good checkpoint: %v", err)
			}
			if ck.state.Step >= tt.badStep {
				t.Errorf("newest checkpoint is of step %d, want one before %d", ck.state.Step, tt.badStep)
			}
			for _, p := range ck.Model.Params() {
				for i, x := range p.Float64s() {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						t.Fatalf("checkpoint of step %d: %s[%d] = %v", ck.state.Step, p.Name(), i, x)
					}
				}
			}
			if tt.badStep <= c.EvalEvery {
				return // nothing validated: no best
			}
			if b, err := readBest(osFiles{}, c.Out); err != nil {
				t.Errorf("best.json: %v", err)
			} else if b.Step >= tt.badStep {
				t.Errorf("best.json names step %d, not before the failure at %d", b.Step, tt.badStep)
			} else if _, err := LoadCheckpoint(filepath.Join(c.Out, stepDir(b.Step))); err != nil {
				t.Errorf("best checkpoint: %v", err)
			}
		})
	}
}
