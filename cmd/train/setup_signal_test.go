package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inFIFOOpen reports whether a thread of process pid is blocked opening a
// FIFO (the kernel's wait_for_partner or fifo_open). main installs its
// signal handler before reading data, so once a thread waits there the
// signal is the handler's: the test does not depend on timing.
func inFIFOOpen(pid int) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/wchan")
	for _, w := range tasks {
		b, _ := os.ReadFile(w)
		if strings.Contains(string(b), "fifo") || strings.Contains(string(b), "wait_for_partner") {
			return true
		}
	}
	return false
}

// TestSignalDuringSetup: -data naming a FIFO that no one writes blocks in
// open(2) before training; Ctrl-C or SIGTERM there was ignored for good.
// The run now stops with the signal's status (130, 143), says it trained
// nothing, and leaves no run directory.
func TestSignalDuringSetup(t *testing.T) {
	if _, err := os.Stat("/proc/self/wchan"); err != nil {
		t.Skip("needs /proc to see the process wait in open(2)")
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitInterrupted}, {syscall.SIGTERM, exitTerminated}} {
		work := t.TempDir()
		fifo := filepath.Join(work, "data.tsv")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(work, "run")
		p := startTrain(t, work, fileRun("-data", fifo, "-out", out)...)
		for !inFIFOOpen(p.cmd.Process.Pid) {
			if p.exited() {
				t.Fatalf("exited before opening the FIFO: %s", p.stderr)
			}
			time.Sleep(time.Millisecond)
		}
		if err := p.cmd.Process.Signal(c.sig); err != nil {
			t.Fatal(err)
		}
		st := p.wait(t, time.Minute) // a guard: before the fix it never exited
		if st.ExitCode() != c.code || !strings.Contains(p.stderr.String(), "stopped before training began") {
			t.Errorf("%v while opening a FIFO: exit %d, stderr %q; want %d and that nothing was trained", c.sig, st.ExitCode(), p.stderr, c.code)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v during setup left %s (stat: %v)", c.sig, out, err)
		}
	}
}

// TestSignalAfterRunDirMade: -init-from naming a FIFO that no one writes
// blocks after the run directory is made and marked. A signal there used
// to end the process from main's fallback timer, which left the directory
// behind with nothing in it but qkv's marker (a run that "already holds a
// run" to the next command). Now reading the weights stops at the signal,
// the directory qkv made is removed, a directory the user made is left
// empty, and the exit status is the signal's.
func TestSignalAfterRunDirMade(t *testing.T) {
	if _, err := os.Stat("/proc/self/wchan"); err != nil {
		t.Skip("needs /proc to see the process wait in open(2)")
	}
	for _, c := range []struct {
		sig     syscall.Signal
		code    int
		userDir bool
	}{
		{syscall.SIGINT, exitInterrupted, false},
		{syscall.SIGTERM, exitTerminated, true},
	} {
		work := t.TempDir()
		fifo := filepath.Join(work, "model.safetensors")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(work, "run")
		if c.userDir {
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		p := startTrain(t, work, tiny("-init-from", fifo, "-out", out)...)
		for !inFIFOOpen(p.cmd.Process.Pid) {
			if p.exited() {
				t.Fatalf("exited before opening the FIFO: %s", p.stderr)
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := os.Stat(filepath.Join(out, "qkv-run.json")); err != nil {
			t.Fatalf("the run directory is not marked while -init-from is read: %v", err)
		}
		if err := p.cmd.Process.Signal(c.sig); err != nil {
			t.Fatal(err)
		}
		st := p.wait(t, time.Minute)
		if st.ExitCode() != c.code || !strings.Contains(p.stderr.String(), "stopped before training began") {
			t.Errorf("%v while reading -init-from: exit %d, stderr %q; want %d and that nothing was trained", c.sig, st.ExitCode(), p.stderr, c.code)
		}
		entries, err := os.ReadDir(out)
		switch {
		case !c.userDir && !os.IsNotExist(err):
			t.Errorf("%v left %s, which qkv made (%d entries, %v)", c.sig, out, len(entries), err)
		case c.userDir && (err != nil || len(entries) > 0):
			t.Errorf("%v: the user's directory %s holds %d entries afterwards (%v), want it empty", c.sig, out, len(entries), err)
		}
	}
}

// TestSignalReadingConfig: -config naming a FIFO that no one writes (a
// -config <(…) whose command never writes) blocks before anything else.
// Once setup watched its context instead of a timer, the config file was
// read without it, and a signal there was ignored for good; it stops the
// run with the signal's status now.
func TestSignalReadingConfig(t *testing.T) {
	if _, err := os.Stat("/proc/self/wchan"); err != nil {
		t.Skip("needs /proc to see the process wait in open(2)")
	}
	work := t.TempDir()
	fifo := filepath.Join(work, "config.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startTrain(t, work, tiny("-config", fifo, "-out", filepath.Join(work, "run"))...)
	for !inFIFOOpen(p.cmd.Process.Pid) {
		if p.exited() {
			t.Fatalf("exited before opening the FIFO: %s", p.stderr)
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := p.wait(t, time.Minute); st.ExitCode() != exitTerminated {
		t.Errorf("SIGTERM while reading -config: exit %d, stderr %q; want %d", st.ExitCode(), p.stderr, exitTerminated)
	}
}
