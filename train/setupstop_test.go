package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/internal/tripctx"
)

// TestSetupStopsAtEveryLook: a signal while a run sets up — reading its
// data files, generating its held-out sets, building its graphs — stops it
// there (New, Run), and what it leaves is a run with a checkpoint or
// nothing: the directory qkv made is removed again, a directory the user
// made is left as it was, empty. The context trips at its n-th look, for
// every n up to a run that finishes untripped.
func TestSetupStopsAtEveryLook(t *testing.T) {
	file := filepath.Join(t.TempDir(), "copy.tsv")
	var lines strings.Builder
	for i := range 400 {
		lines.WriteString(strings.Repeat("a b c ", i%5+1) + "\t" + strings.Repeat("a b c ", i%5+1) + "\n")
	}
	if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		file    bool // a data file, else a generated task
		userDir bool // the user made the (empty) run directory
	}{
		{"task, new directory", false, false},
		{"task, user's empty directory", false, true},
		{"file, new directory", true, false},
		{"file, user's empty directory", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(t, "copy")
			cfg.ValExamples, cfg.TestExamples = 1500, 1500 // several looks each
			cfg.Steps, cfg.Warmup, cfg.EvalEvery, cfg.SaveEvery = 2, 1, 2, 2
			if c.file {
				cfg.Task, cfg.Data, cfg.Len, cfg.MinLen = "", file, 0, 1
			}
			sawNew, sawSetup := false, false
			for n := int64(1); ; n++ {
				if n > 1000 {
					t.Fatal("no run finished within 1000 looks")
				}
				cfg.Out = filepath.Join(t.TempDir(), "run")
				if c.userDir {
					if err := os.Mkdir(cfg.Out, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				ctx := tripctx.New(n)
				tr, err := NewContext(ctx, cfg)
				if ctx.Tripped() {
					sawNew = true
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("look %d: stopped inside New: err = %v, want context.Canceled", n, err)
					}
					checkLeftNothing(t, n, cfg.Out, c.userDir)
					continue
				}
				if err != nil {
					t.Fatalf("look %d: New: %v", n, err)
				}
				before := ctx.Looks()
				res, err := tr.Run(ctx)
				tr.Close()
				if !ctx.Tripped() {
					if err != nil {
						t.Fatalf("untripped run: %v", err)
					}
					if !sawNew || !sawSetup {
						t.Fatalf("every look passed (%d), but none stopped New (%v) or Run's setup (%v)", n-1, sawNew, sawSetup)
					}
					return
				}
				if !errors.Is(err, ErrInterrupted) {
					t.Fatalf("look %d (Run's %d): Run = %v, want ErrInterrupted", n, n-before, err)
				}
				if res.Dir == "" { // stopped while setting up
					sawSetup = true
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("look %d: stopped in setup: %v, want it to wrap context.Canceled", n, err)
					}
					checkLeftNothing(t, n, cfg.Out, c.userDir)
					continue
				}
				if !HasCheckpoint(cfg.Out) {
					t.Fatalf("look %d: Run stopped at step %d with a Result naming %s, which holds no checkpoint", n, res.Steps, res.Dir)
				}
			}
		})
	}
}

// checkLeftNothing fails unless dir is gone (qkv made it) or, made by the
// user, is there and empty.
func checkLeftNothing(t *testing.T, look int64, dir string, userDir bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	switch {
	case userDir && err != nil:
		t.Fatalf("look %d: the user's directory %s: %v", look, dir, err)
	case userDir && len(entries) > 0:
		t.Fatalf("look %d: the user's directory %s holds %s after a stop before the first step", look, dir, entries[0].Name())
	case !userDir && !os.IsNotExist(err):
		t.Fatalf("look %d: %s, made by the stopped run, is still there (%v)", look, dir, err)
	}
}

// TestRunStoppedBeforeSetup: a context already done when Run starts (a
// signal while New read the data or while a command printed its config)
// stops the run before it writes anything; Run used to build its graphs,
// write config.json and save a step-0 checkpoint, leaving a run of nothing
// behind.
func TestRunStoppedBeforeSetup(t *testing.T) {
	cfg := tinyConfig(t, "copy")
	cfg.Out = filepath.Join(t.TempDir(), "run")
	tr := mustNew(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := tr.Run(ctx)
	tr.Close()
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || res.Dir != "" {
		t.Errorf("Run with a done context = %+v, %v; want a zero Result and ErrInterrupted wrapping context.Canceled", res, err)
	}
	if _, err := os.Stat(cfg.Out); !os.IsNotExist(err) {
		t.Errorf("%s left behind (stat: %v)", cfg.Out, err)
	}
}
