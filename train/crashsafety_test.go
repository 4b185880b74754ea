package train

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// errCrash is what every file operation returns once crashFiles has let
// its quota through: the process is dead as far as the disk can tell.
var errCrash = errors.New("crashed (injected)")

// crashFiles is osFiles that lets the first after operations that change
// the disk through and refuses every one after, cleanups included, as a
// process killed at that instant would leave the disk. Reads go through.
type crashFiles struct {
	osFiles
	after int      // operations let through; -1: all
	ops   []string // the operations let through, in order
}

func (c *crashFiles) op(what, name string) error {
	if c.after >= 0 && len(c.ops) >= c.after {
		return errCrash
	}
	c.ops = append(c.ops, what+" "+filepath.Base(filepath.Dir(name))+"/"+filepath.Base(name))
	return nil
}

func (c *crashFiles) Mkdir(name string) error {
	if err := c.op("mkdir", name); err != nil {
		return err
	}
	return c.osFiles.Mkdir(name)
}

func (c *crashFiles) WriteFile(name string, b []byte) error {
	if err := c.op("write", name); err != nil {
		return err
	}
	return c.osFiles.WriteFile(name, b)
}

func (c *crashFiles) Rename(oldpath, newpath string) error {
	if err := c.op("rename", oldpath); err != nil {
		return err
	}
	return c.osFiles.Rename(oldpath, newpath)
}

func (c *crashFiles) RemoveAll(name string) error {
	if err := c.op("remove", name); err != nil {
		return err
	}
	return c.osFiles.RemoveAll(name)
}

func (c *crashFiles) SyncDir(name string) error {
	if err := c.op("sync", name); err != nil {
		return err
	}
	return c.osFiles.SyncDir(name)
}

// TestSaveCrashAtEveryOperation stops a run's saves after each of their
// file operations in turn — every n from none to all of them, across two
// saves with validation, best.json and pruning (-keep 1) — as a crash
// would, then checks what is left: every checkpoint directory loads, the
// newest is the last one begun or the one before it, OpenRun warns of
// nothing, and resuming from there ends bit for bit as a run that never
// crashed. A deterministic twin of the SIGKILL test (cmd/train's
// TestCrashSafety); it fails, for one, if the manifest is written after
// the rename that makes a checkpoint visible.
func TestSaveCrashAtEveryOperation(t *testing.T) {
	cfg := tinyConfig(t, "copy")
	cfg.Steps, cfg.SaveEvery, cfg.EvalEvery, cfg.LogEvery, cfg.Keep = 30, 10, 10, 5, 1
	mustRun(t, cfg) // the run that never crashed

	// The run to crash, stopped at step 10 with a checkpoint.
	base := cfg
	base.Out = t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	tr := mustNew(t, base)
	tr.SetProgress(NewProgress(stepHook(func(step int) {
		if step == 10 {
			cancel()
		}
	}), false))
	if res, err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) || res.Steps != 10 {
		t.Fatalf("Run = step %d, %v; want step 10, ErrInterrupted", res.Steps, err)
	}

	// resumeCrashing resumes a copy of base to the end with the file
	// operations of its saves going through fsys.
	resumeCrashing := func(t *testing.T, fsys *crashFiles) (string, error) {
		t.Helper()
		c := cfg
		c.Out = t.TempDir()
		copyDir(t, base.Out, c.Out)
		tr := mustResume(t, c.Out, c)
		tr.fs = fsys
		_, err := tr.Run(t.Context())
		return c.Out, err
	}
	all := &crashFiles{after: -1}
	if _, err := resumeCrashing(t, all); err != nil {
		t.Fatalf("the resumed run without a crash: %v", err)
	}
	t.Logf("%d file operations: %q", len(all.ops), all.ops)
	if len(all.ops) < 20 {
		t.Fatalf("only %d file operations counted in two saves; the hook misses some", len(all.ops))
	}

	for n := 0; n <= len(all.ops); n++ {
		t.Run(fmt.Sprintf("after %d", n), func(t *testing.T) {
			fsys := &crashFiles{after: n}
			dir, err := resumeCrashing(t, fsys)
			if n < len(all.ops) && !errors.Is(err, errCrash) {
				t.Fatalf("Run with a crash after operation %d = %v, want the crash", n, err)
			}
			steps := stepDirs(t, dir)
			for _, s := range steps {
				if _, err := LoadCheckpoint(filepath.Join(dir, stepDir(s))); err != nil {
					t.Errorf("crash after %q: %v", fsys.ops[max(len(fsys.ops)-1, 0):], err)
				}
			}
			ck, err := OpenRun(dir, Latest, func(msg string) {
				t.Errorf("crash after %q: OpenRun warned: %s", fsys.ops[max(len(fsys.ops)-1, 0):], msg)
			})
			if err != nil {
				t.Fatalf("crash after operation %d: %v", n, err)
			}
			if !slices.Contains([]int{10, 20, 30}, ck.Step()) {
				t.Fatalf("crash after operation %d: newest checkpoint is step %d", n, ck.Step())
			}
			c := cfg
			c.Out = dir
			tr, err := Resume(ck, c)
			if err != nil {
				t.Fatalf("crash after operation %d: Resume: %v", n, err)
			}
			if _, err := tr.Run(t.Context()); err != nil {
				t.Fatalf("crash after operation %d: resumed Run: %v", n, err)
			}
			compareRuns(t, cfg.Out, dir, cfg.Steps)
		})
	}
}
