package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/internal/tripctx"
)

// waitsIn reports whether a thread of process pid waits in the kernel in
// a function whose name holds one of names (its wchan): opening a FIFO,
// reading a pipe. main installs its signal handler first thing, so a
// signal sent then is the handler's: the test does not depend on timing.
func waitsIn(pid int, names ...string) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/wchan")
	for _, w := range tasks {
		b, _ := os.ReadFile(w)
		for _, n := range names {
			if strings.Contains(string(b), n) {
				return true
			}
		}
	}
	return false
}

// TestSignals: qkv-eval waiting for its input — a -data FIFO that no one
// writes, -predict - on a silent stdin — stops at SIGINT, SIGTERM or
// SIGHUP with 130, 143 or 129, says so in one line and writes nothing on
// stdout. Before, it had no handler: the signal killed it (no exit status
// of its own; a kill inside a picture's write left the temporary file).
func TestSignals(t *testing.T) {
	if _, err := os.Stat("/proc/self/wchan"); err != nil {
		t.Skip("needs /proc to see the process wait")
	}
	for _, c := range []struct {
		name string
		sig  syscall.Signal
		code int
	}{
		{"data fifo", syscall.SIGINT, exitInterrupted},
		{"predict stdin", syscall.SIGTERM, exitTerminated},
		{"data fifo", syscall.SIGHUP, exitHangup},
	} {
		work := t.TempDir()
		args := []string{"-ckpt", runDir, "-predict", "-"}
		var wchan []string
		if c.name == "data fifo" {
			fifo := filepath.Join(work, "data.tsv")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			args, wchan = []string{"-ckpt", runDir, "-data", fifo}, []string{"fifo", "wait_for_partner"}
		} else {
			wchan = []string{"pipe"}
		}
		cmd := exec.Command(evalBin, args...)
		cmd.Dir = work
		stdin, err := cmd.StdinPipe() // held open, never written
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-done })
		for !waitsIn(cmd.Process.Pid, wchan...) {
			select {
			case <-done:
				t.Fatalf("%s: exited before waiting for input: %s", c.name, stderr.String())
			default:
			}
			time.Sleep(time.Millisecond)
		}
		if err := cmd.Process.Signal(c.sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(time.Minute): // a guard, not a measure
			t.Fatalf("%s: %v: still running after a minute", c.name, c.sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != c.code || stdout.Len() > 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "stopped by") {
			t.Errorf("%s: %v: exit %d, stdout %q, stderr %q; want %d, nothing on stdout, one line saying it stopped", c.name, c.sig, code, stdout.String(), stderr.String(), c.code)
		}
	}
}

// TestStopsAtEveryLook: stopped at any point that watches the context —
// generating a long -len set, evaluating in batches, scoring alignment,
// drawing -attention-png, building -explore's page, reading -predict's
// file, redrawing -curves — run returns the context's cause and has
// written nothing: stdout empty, no output file, no temporary file beside
// it. Left alone, the same command writes its output.
func TestStopsAtEveryLook(t *testing.T) {
	predict := writeFile(t, filepath.Join(t.TempDir(), "in.txt"), strings.Repeat("a b c\n", 50))
	curvesRun := copyRun(t)
	for _, c := range []struct {
		name string
		args func(out string) []string
		file bool // writes out
	}{
		{"len", func(string) []string { return []string{"-ckpt", runDir, "-len", "9", "-n", "1500"} }, false},
		{"which latest, val", func(string) []string { return []string{"-ckpt", runDir, "-which", "latest", "-split", "val", "-json"} }, false},
		{"predict", func(string) []string { return []string{"-ckpt", runDir, "-predict", predict} }, false},
		{"attention-png", func(out string) []string {
			return []string{"-ckpt", runDir, "-input", "a b c d", "-attention-png", out}
		}, true},
		{"explore", func(out string) []string { return []string{"-ckpt", runDir, "-explore", out} }, true},
		{"curves", func(out string) []string { return []string{"-curves", curvesRun, "-o", out} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			trips := 0
			for n := int64(1); ; n += max(1, n/6) {
				dir := t.TempDir()
				out := filepath.Join(dir, "out")
				tc := tripctx.New(n)
				var stdout bytes.Buffer
				err := run(tc, c.args(out), strings.NewReader(""), &stdout, io.Discard)
				tc.Close()
				entries, _ := os.ReadDir(dir)
				if !tc.Tripped() {
					if err != nil {
						t.Fatalf("untripped: %v", err)
					}
					if trips == 0 {
						t.Fatal("no look at the context stopped it")
					}
					if c.file && len(entries) != 1 {
						t.Errorf("untripped: %d files written, want 1", len(entries))
					}
					return
				}
				trips++
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("tripped at look %d: err = %v, want context.Canceled", n, err)
				}
				if stdout.Len() > 0 || len(entries) > 0 {
					t.Fatalf("tripped at look %d: %d bytes on stdout, %d files in the output's directory; want none", n, stdout.Len(), len(entries))
				}
			}
		})
	}
}

// TestStdinBounded tests readAllContext's bound on both sides: -predict -
// read stdin without one (cat /dev/zero | qkv-eval -predict - grew until
// memory ran out); limit bytes read, one more is data.ErrTooLarge.
func TestStdinBounded(t *testing.T) {
	const limit = 10
	for _, n := range []int{limit, limit + 1} {
		b, err := readAllContext(context.Background(), strings.NewReader(strings.Repeat("a", n)), limit)
		if n <= limit && (err != nil || len(b) != n) {
			t.Errorf("%d bytes under a limit of %d: %d bytes, %v", n, limit, len(b), err)
		}
		if n > limit && !errors.Is(err, data.ErrTooLarge) {
			t.Errorf("%d bytes under a limit of %d: %v, want data.ErrTooLarge", n, limit, err)
		}
	}
}
