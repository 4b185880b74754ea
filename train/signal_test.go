package train

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestStopInsideValidation: a signal during a validation of many examples
// stops it between batches (it ran to the end before: 1M examples took
// minutes after Ctrl-C), the step is saved unvalidated, and the resumed
// run validates it and ends bit for bit as the uninterrupted run. A signal
// during the final test interrupts the run too (it finished and reported).
// The context is cancelled by a hook before the n-th evaluation batch, so
// the test is deterministic.
func TestStopInsideValidation(t *testing.T) {
	for _, c := range []struct {
		name  string
		evals int // whole evaluations before the one to stop in
		step  int // the step the run stops at
	}{
		{"first validation", 0, 10},
		{"third validation", 2, 30},
		{"final test", 4, 40},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(t, "copy")
			cfg.ValExamples, cfg.TestExamples = 600, 600
			// The uninterrupted run counts the batches of its evaluations:
			// four validations and the test, all the same size.
			full := mustNew(t, cfg)
			total := 0
			full.evalHook = func() { total++ }
			if _, err := full.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			per := total / 5
			if per < 3 || total != 5*per {
				t.Fatalf("%d evaluation checks in the run, want 5 evaluations of at least 2 batches", total)
			}

			cfgB := cfg
			cfgB.Out = t.TempDir()
			tr := mustNew(t, cfgB)
			// Each evaluation checks as it begins and before each batch:
			// stop before its second batch.
			stopAt := c.evals*per + 3
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			tr.evalHook = func() {
				if n++; n == stopAt {
					cancel()
				}
			}
			res, err := tr.Run(ctx)
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("Run stopped inside evaluation = %v, want ErrInterrupted", err)
			}
			if res.Steps != c.step {
				t.Fatalf("stopped at step %d, want %d", res.Steps, c.step)
			}
			if n != stopAt {
				t.Errorf("%d evaluation batches ran, want the run to stop at batch %d", n, stopAt)
			}
			if _, err := LoadCheckpoint(filepath.Join(cfgB.Out, stepDir(c.step))); err != nil {
				t.Fatalf("no checkpoint of the interrupted step: %v", err)
			}
			if _, err := mustResume(t, cfgB.Out, cfgB).Run(context.Background()); err != nil {
				t.Fatalf("resumed Run: %v", err)
			}
			compareRuns(t, cfg.Out, cfgB.Out, cfg.Steps)
		})
	}
}
