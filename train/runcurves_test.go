package train

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkCurves fails unless dir holds a CurvesFile that decodes as a PNG
// and no temporary file beside it.
func checkCurves(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, CurvesFile))
	if err != nil {
		t.Fatalf("run directory: %v", err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", f.Name(), err)
	}
	noCurvesTemp(t, dir)
}

// noCurvesTemp fails if a temporary file of the picture (renameio's
// ".curves.png…") is left in dir.
func noCurvesTemp(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "."+CurvesFile) {
			t.Errorf("%s left in the run directory", e.Name())
		}
	}
}

// TestRunDrawsCurves: every way a run ends leaves a picture of its
// metrics in the run directory: finished, interrupted, and stopped by a
// non-finite loss.
func TestRunDrawsCurves(t *testing.T) {
	t.Run("finished", func(t *testing.T) {
		c := tinyConfig(t, "reverse")
		c.Steps = 20
		var log bytes.Buffer
		tr := mustNew(t, c)
		tr.SetProgress(NewProgress(&log, false))
		if _, err := tr.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		checkCurves(t, c.Out)
		if strings.Contains(log.String(), "warning") {
			t.Errorf("progress has a warning:\n%s", log.String())
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		c := tinyConfig(t, "reverse")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		tr := mustNew(t, c)
		tr.SetProgress(NewProgress(stepHook(func(step int) {
			if step == 15 {
				cancel()
			}
		}), false))
		if res, err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) || res.Steps != 15 {
			t.Fatalf("Run = step %d, %v; want step 15, ErrInterrupted", res.Steps, err)
		}
		checkCurves(t, c.Out)
	})
	t.Run("non-finite", func(t *testing.T) {
		c := tinyConfig(t, "reverse")
		tr := mustNew(t, c)
		tr.SetProgress(NewProgress(stepHook(func(step int) {
			if step == 15 {
				setAll(t, tr.Model(), math.NaN())
			}
		}), false))
		if _, err := tr.Run(t.Context()); !errors.Is(err, ErrNonFinite) {
			t.Fatalf("Run = %v, want ErrNonFinite", err)
		}
		checkCurves(t, c.Out)
	})
}

// TestRunCurvesFailure: a picture that cannot be written is a warning on
// the progress output; the run still finishes, its result and checkpoints
// intact, and no temporary file is left.
func TestRunCurvesFailure(t *testing.T) {
	c := tinyConfig(t, "reverse")
	c.Steps = 20
	blocker := filepath.Join(c.Out, CurvesFile)
	tr := mustNew(t, c) // a fresh run starts only in an empty directory
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	tr.SetProgress(NewProgress(&log, false))
	res, err := tr.Run(t.Context())
	if err != nil || res.Steps != 20 || res.Test.Examples != c.TestExamples {
		t.Fatalf("Run = %+v, %v; want 20 steps tested on %d examples, no error", res, err, c.TestExamples)
	}
	if want := "warning: train: curves " + blocker + ": is a directory"; !strings.Contains(log.String(), want) {
		t.Errorf("progress does not warn %q:\n%s", want, log.String())
	}
	if _, err := LoadCheckpoint(filepath.Join(c.Out, stepDir(20))); err != nil {
		t.Errorf("final checkpoint: %v", err)
	}
	noCurvesTemp(t, c.Out)
}

// TestRunCurvesNothingLogged: a run stopped before it logged anything has
// nothing to draw, and says nothing about it.
func TestRunCurvesNothingLogged(t *testing.T) {
	c := tinyConfig(t, "reverse")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var log bytes.Buffer
	tr := mustNew(t, c)
	tr.SetProgress(NewProgress(&log, false))
	if _, err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if _, err := os.Stat(filepath.Join(c.Out, CurvesFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run of no steps drew %s (%v)", CurvesFile, err)
	}
	if log.Len() > 0 {
		t.Errorf("progress: %q, want nothing", log.String())
	}
}
