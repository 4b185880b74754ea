package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run the command itself as a child process: the
// test binary, started with studyAsMain set, is main.
func TestMain(m *testing.M) {
	if os.Getenv(studyAsMain) == "1" {
		os.Exit(mainStatus(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const studyAsMain = "QKV_STUDY_AS_MAIN"

// cancelled is a context a study stops in at once: a test that expects a
// refusal before any work does not train for minutes when the refusal is
// missing.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestOutLocked: while one study holds a report directory, a second one
// on it is refused at once (issue 13, defect 6: both said "written to").
func TestOutLocked(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock here: the lock is a no-op by design")
	}
	dir := filepath.Join(t.TempDir(), "report")
	held, err := openOut(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.close()
	err = run(cancelled(), []string{"-quick", "-out", dir}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.As(err, new(usageError)) || !errors.Is(err, errOutInUse) {
		t.Fatalf("a second study on a held -out: %v, want a usage error saying it is in use", err)
	}
	held.close()
	// Released, the directory is the next study's, and the first left
	// nothing in it or beside it.
	again, err := openOut(dir)
	if err != nil {
		t.Fatalf("after the first study closed: %v", err)
	}
	again.close()
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestOutUnwritable: an -out the study cannot write is refused before any
// experiment runs (it was found only when the report was written).
func TestOutUnwritable(t *testing.T) {
	cases := []string{}
	if _, err := os.Stat("/proc/self"); err == nil {
		cases = append(cases, "/proc/self/qkv-study-report") // no one may create it, root included
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0o555)
		cases = append(cases, ro, filepath.Join(ro, "report"))
	}
	if len(cases) == 0 {
		t.Skip("no directory here is unwritable for this user")
	}
	for _, dir := range cases {
		err := run(cancelled(), []string{"-quick", "-out", dir}, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.As(err, new(usageError)) {
			t.Errorf("-out %s: %v, want a usage error before any experiment", dir, err)
		}
	}
}

// TestSignals: SIGINT, SIGTERM and SIGHUP stop a running study, which
// removes its scratch runs and the report it was building, leaves no
// report directory it created, and exits 128 + the signal's number (130,
// 143, 129) as a shell reports a process a signal killed.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the study three times")
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no POSIX signals here")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			root := t.TempDir()
			scratch, out := filepath.Join(root, "tmp"), filepath.Join(root, "out", "report")
			os.Mkdir(scratch, 0o755)
			cmd := exec.Command(os.Args[0], "-quick", "-out", out)
			cmd.Env = append(os.Environ(), studyAsMain+"=1", "TMPDIR="+scratch, "CI=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The first experiment's line says training has begun.
			sc := bufio.NewScanner(stderr)
			var log strings.Builder
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "1 long-range") {
					break
				}
			}
			time.Sleep(200 * time.Millisecond) // inside the first run, not before it
			cmd.Process.Signal(sig)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
			}
			err = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if want := 128 + int(sig); code != want {
				t.Errorf("exit status %d (%v), want %d; stderr:\n%s", code, err, want, log.String())
			}
			if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
				t.Errorf("scratch runs left in %s: %v", scratch, entries)
			}
			if entries, _ := os.ReadDir(filepath.Join(root, "out")); len(entries) != 0 {
				t.Errorf("left in the report's parent: %v", entries)
			}
		})
	}
}
