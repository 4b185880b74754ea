//go:build unix

package train

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckpointFileNotRegular: a checkpoint whose weights are a FIFO (a
// read waited for a writer for good) or whose manifest is a link to
// /dev/zero (a read never ended, until memory ran out) is damage like any
// other: OpenRun skips it, says why, and falls back to the one before.
func TestCheckpointFileNotRegular(t *testing.T) {
	for _, c := range []struct {
		file string
		make func(path string) error
	}{
		{fileModel, func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{fileManifest, func(p string) error { return os.Symlink("/dev/zero", p) }},
	} {
		cfg := tinyConfig(t, "copy")
		mustRun(t, cfg)
		steps := stepDirs(t, cfg.Out)
		newest, before := steps[len(steps)-1], steps[len(steps)-2]
		path := filepath.Join(cfg.Out, stepDir(newest), c.file)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := c.make(path); err != nil {
			t.Fatal(err)
		}
		type opened struct {
			ck   *Checkpoint
			err  error
			warn string
		}
		done := make(chan opened, 1)
		go func() {
			var warns []string
			ck, err := OpenRun(cfg.Out, Latest, func(w string) { warns = append(warns, w) })
			done <- opened{ck, err, strings.Join(warns, "; ")}
		}()
		select {
		case o := <-done:
			if o.err != nil || o.ck.Step() != before || !strings.Contains(o.warn, "not a regular file") {
				t.Errorf("%s not a regular file: OpenRun = step %v, %v, warnings %q; want step %d and a warning naming it", c.file, o.ck, o.err, o.warn, before)
			}
		case <-time.After(time.Minute): // a guard, not a measure
			t.Fatalf("%s not a regular file: OpenRun still reading after a minute", c.file)
		}
	}
}

// TestInitFromBounded: -init-from reads no more than the model's weights
// can take (in float64, with room for the header): /dev/zero, read
// before up to half the machine's memory, is refused once it passes.
func TestInitFromBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	tr := mustNew(t, tinyConfig(t, "copy"))
	defer tr.Close()
	err := tr.InitFrom("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "larger than the") {
		t.Errorf("InitFrom(/dev/zero) = %v, want a refusal naming the model's size", err)
	}
}
