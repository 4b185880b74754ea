package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOutNotARun checks that -out naming a directory that holds files but
// no run — "-out ." in a project folder — is refused in one line, exit 2,
// with every file left as it was; without -out, such a directory in the
// default place is passed over for the next.
func TestOutNotARun(t *testing.T) {
	work := t.TempDir()
	project := map[string]string{
		"config.json":         `{"name": "my project"}` + "\n",
		"metrics.jsonl":       "{\"mine\": 1}\n",
		"go.mod":              "module example.com/p\n",
		".tmp-build/keep.txt": "keep\n",
	}
	for name, body := range project {
		path := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, body)
	}
	short := []string{"-steps", "3", "-warmup", "1", "-save-every", "3", "-eval-every", "3"}
	r := runTrain(t, work, tiny(slices.Concat(short, []string{"-out", "."})...)...)
	checkUsageError(t, r, "is not empty and holds no qkv run")
	entries, _ := os.ReadDir(work)
	if len(entries) != 4 {
		t.Errorf("-out . left %d entries in a folder of 4", len(entries))
	}
	for name, body := range project {
		if b, err := os.ReadFile(filepath.Join(work, name)); err != nil || string(b) != body {
			t.Errorf("-out .: %s is %q, %v; want %q untouched", name, b, err, body)
		}
	}

	mine := filepath.Join(work, "checkpoints", "copy", "notes.txt")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, mine, "mine\n")
	r = mustTrain(t, work, tiny(short...)...)
	if want := "run directory: " + filepath.Join("checkpoints", "copy-2") + "\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("without -out: stderr lacks %q:\n%s", want, lastLines(r.stderr, 8))
	}
	if entries, _ := os.ReadDir(filepath.Dir(mine)); len(entries) != 1 {
		t.Errorf("the run wrote into %s: %v", filepath.Dir(mine), entries)
	}
}

// TestDivergedRerun checks that running a command again after it
// diverged before its first checkpoint starts a new run beside the
// failed one, whose metrics.jsonl and curves.png stay as they were.
func TestDivergedRerun(t *testing.T) {
	work := t.TempDir()
	args := tiny("-lr", "1e30", "-schedule", "constant", "-log-every", "1")
	r := runTrain(t, work, args...)
	if r.code != exitError || !strings.Contains(r.stderr, "training diverged") || strings.Contains(r.stderr, "intact") {
		t.Fatalf("lr 1e30: exit %d, stderr:\n%s\nwant exit 1, diverged, no checkpoint claimed intact", r.code, lastLines(r.stderr, 4))
	}
	first := filepath.Join(work, "checkpoints", "copy")
	kept := map[string][]byte{}
	for _, name := range []string{"metrics.jsonl", "curves.png", "config.json"} {
		b, err := os.ReadFile(filepath.Join(first, name))
		if err != nil {
			t.Fatalf("the failed run left no %s: %v", name, err)
		}
		kept[name] = b
	}
	r = runTrain(t, work, args...)
	if want := "run directory: " + filepath.Join("checkpoints", "copy-2") + "\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("the rerun: stderr lacks %q:\n%s", want, lastLines(r.stderr, 8))
	}
	for name, b := range kept {
		if now, err := os.ReadFile(filepath.Join(first, name)); err != nil || !bytes.Equal(now, b) {
			t.Errorf("the rerun changed the failed run's %s (%v)", name, err)
		}
	}
	r = runTrain(t, work, slices.Concat(args, []string{"-out", first})...)
	checkUsageError(t, r, "stopped before its first checkpoint")
}

// TestPrintedCommands checks that the commands a run prints — to resume
// it after a signal, to evaluate it when done — work as printed, through a
// shell, from the directory it ran in, outside the repository, with a
// binary and a run directory whose names hold spaces and a quote.
func TestPrintedCommands(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "my bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	eval, err := evalBin()
	if err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{trainBin: "qkv-train", eval: "qkv-eval"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, dst), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	out := "it's my run"
	self := filepath.Join(bin, "qkv-train")
	p := &proc{cmd: exec.Command(self, tiny("-out", out, "-steps", "1000000", "-save-every", "1000000", "-eval-every", "1000000")...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = work
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	// A signal before the first step stops the run with nothing saved and
	// nothing to resume: wait for training to log.
	waitFor(t, p, "the run to log a step", func() bool { return strings.Contains(p.stderr.String(), "\nstep ") })
	p.signal(t, syscall.SIGINT)
	p.wait(t, 30*time.Second)
	resume := printed(t, p.stderr.String(), "resume with: ")
	t.Logf("resume with: %s", resume)
	var stopped int
	if _, err := fmt.Sscanf(p.stderr.String()[strings.LastIndex(p.stderr.String(), "stopped at step "):], "stopped at step %d", &stopped); err != nil {
		t.Fatalf("no step in the stop message: %v", err)
	}
	n := strconv.Itoa(stopped + 2)
	r := sh(t, work, resume+" -steps "+n+" -eval-every "+n+" -save-every "+n)
	if r.code != 0 || !strings.Contains(r.stderr, "resuming ") {
		t.Fatalf("the printed resume command, run by sh: exit %d; stderr:\n%s", r.code, lastLines(r.stderr, 5))
	}
	evaluate := printed(t, r.stdout, "evaluate with: ")
	t.Logf("evaluate with: %s", evaluate)
	if r := sh(t, work, evaluate); r.code != 0 || !strings.Contains(r.stdout, "accuracy") {
		t.Errorf("the printed evaluate command, run by sh: exit %d; stdout %q, stderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 5))
	}
}

// printed returns the command after prefix on a line of s.
func printed(t *testing.T, s, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(s, "\n") {
		if _, cmd, ok := strings.Cut(line, prefix); ok {
			return cmd
		}
	}
	t.Fatalf("no %q line in:\n%s", prefix, s)
	return ""
}

// sh runs a command line through the shell in dir.
func sh(t *testing.T, dir, line string) result {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Run()
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode(), cmd.ProcessState}
}
