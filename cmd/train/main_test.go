package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qkv-dev/qkv/internal/testbuild"
	"github.com/qkv-dev/qkv/train"
)

// trainBin is cmd/train built once by TestMain: exit statuses, what reaches
// stderr and signals are only observable on a real process.
var trainBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qkv-cmd-train-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trainBin = filepath.Join(dir, "train")
	build := testbuild.Command(trainBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cmd/train:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// model is the tiny model every test trains: a few milliseconds a step.
var model = []string{
	"-len", "6", "-min-len", "2", "-d-model", "16", "-heads", "2", "-layers", "1", "-d-ff", "32",
	"-batch", "8", "-val-examples", "50", "-test-examples", "50", "-warmup", "2",
}

// tiny returns the arguments of a tiny copy-task run followed by extra.
func tiny(extra ...string) []string {
	return slices.Concat([]string{"-task", "copy"}, model, extra)
}

// result is how a finished process ended.
type result struct {
	stdout, stderr string
	code           int // ExitCode: -1 when a signal killed it
	state          *os.ProcessState
}

// runTrain runs the binary to completion in dir (its working directory).
func runTrain(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, trainBin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("train %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("train %s: did not finish within a minute; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode(), cmd.ProcessState}
}

// mustTrain runs the binary and fails unless it exits 0.
func mustTrain(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := runTrain(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("train %s: exit %d; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// checkUsageError checks that r is bad input reported the way cmd/train
// promises: exit status 2, nothing on stdout, exactly one line on stderr
// (no usage dump, no stack trace) that contains want.
func checkUsageError(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != exitUsage {
		t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	if lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr has %d lines, want exactly one:\n%s", len(lines), r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}
}

// syncBuffer is a bytes.Buffer that a running process writes while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a training process running in the background.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when it has exited
}

// startTrain starts the binary in dir; the test's cleanup kills it if it
// is still running.
func startTrain(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(trainBin, args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns how it ended.
func (p *proc) wait(t *testing.T, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState
	case <-time.After(timeout):
		t.Fatalf("training did not exit within %v; stderr:\n%s", timeout, p.stderr)
		return nil
	}
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// waitFor polls cond until it holds. It fails the test at the deadline,
// or when p (if not nil) exits first.
func waitFor(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if p != nil && p.exited() {
			t.Fatalf("training exited (status %v) before %s; stderr:\n%s", p.cmd.ProcessState, what, p.stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// steps returns the steps of the checkpoint directories in dir.
func steps(t *testing.T, dir string) []int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "step-*"))
	if err != nil {
		t.Fatal(err)
	}
	var s []int
	for _, path := range m {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(path), "step-"))
		if err != nil {
			t.Fatalf("checkpoint directory %s: %v", path, err)
		}
		s = append(s, n)
	}
	slices.Sort(s)
	return s
}

// openLatest loads the newest checkpoint of dir and fails on any error or
// on a warning: atomic saves never leave a damaged checkpoint to skip.
func openLatest(t *testing.T, dir string) *train.Checkpoint {
	t.Helper()
	var warnings []string
	ck, err := train.OpenRun(dir, train.Latest, func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		t.Fatalf("OpenRun(%s, latest): %v", dir, err)
	}
	if len(warnings) > 0 {
		t.Errorf("OpenRun(%s, latest) warned: %q", dir, warnings)
	}
	return ck
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestBadInput checks that every kind of bad input ends the program before
// any training with exit status 2 and one line on stderr naming the
// problem, and creates no run directory.
func TestBadInput(t *testing.T) {
	in := t.TempDir() // input files; the binary runs elsewhere
	badData := writeFile(t, filepath.Join(in, "bad.tsv"), "a b\tb a\nc d e\n")
	goodData := writeFile(t, filepath.Join(in, "good.tsv"), "a b\tb a\nc d\td c\nb c\tc b\n")
	badKey := writeFile(t, filepath.Join(in, "bad.json"), `{"d_model": 16, "bogus": 1}`+"\n")
	badJSON := writeFile(t, filepath.Join(in, "broken.json"), `{"d_model": 16,`)
	empty := t.TempDir() // an existing directory without checkpoints

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", tiny("-nope"), "flag provided but not defined: -nope"},
		{"flag value not a number", tiny("-d-model", "wide"), `invalid value "wide" for flag -d-model`},
		{"negative size", tiny("-d-model", "-4"), "got -4"},
		{"heads do not divide d-model", tiny("-d-model", "30", "-heads", "4"), "d-model 30 is not divisible by heads 4"},
		{"unknown task", slices.Concat(model, []string{"-task", "nope"}), `unknown task "nope"`},
		{"unknown norm", tiny("-norm", "sideways"), `unknown norm "sideways"`},
		{"unknown dtype", tiny("-dtype", "float16"), `unknown dtype "float16"`},
		{"warmup not below steps", tiny("-steps", "2", "-warmup", "5"), "warmup 5"},
		{"missing data file", slices.Concat(fileModel, []string{"-data", filepath.Join(in, "missing.tsv")}), "missing.tsv: no such file or directory"},
		{"malformed data file", slices.Concat(fileModel, []string{"-data", badData}), "bad.tsv:2: no tab"},
		{"task and data", tiny("-data", goodData), "give -task or -data, not both"},
		{"val without data", tiny("-val", goodData), "-val needs -data"},
		{"config with unknown key", tiny("-config", badKey), `bad.json: unknown key "bogus"`},
		{"config not JSON", tiny("-config", badJSON), "broken.json"},
		{"missing config", tiny("-config", filepath.Join(in, "none.json")), "none.json: no such file or directory"},
		{"extra argument", tiny("extra"), `unexpected argument "extra"`},
		{"resume nothing", tiny("-resume", filepath.Join(in, "none")), "none: no such file or directory"},
		{"resume without checkpoints", tiny("-resume", empty), "no loadable checkpoint"},
		{"missing init-from", tiny("-init-from", filepath.Join(in, "none.safetensors")), "none.safetensors: no such file or directory"},
		{"init-from not safetensors", tiny("-init-from", goodData), "-init-from " + goodData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The binary, in an empty working directory that must stay empty:
			// the default run directory is relative to it.
			work := t.TempDir()
			r := runTrain(t, work, tt.args...)
			checkUsageError(t, r, tt.want)
			if names := entries(t, work); len(names) > 0 {
				t.Errorf("working directory holds %q after bad input, want nothing", names)
			}

			// run itself: the same verdict, and it prints nothing (main
			// prints the error).
			out := filepath.Join(t.TempDir(), "run")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), slices.Concat([]string{"-out", out}, tt.args), &stdout, &stderr)
			if err == nil {
				t.Fatal("run: no error")
			}
			if code := exitCode(err); code != exitUsage {
				t.Errorf("run: exitCode(%v) = %d, want %d", err, code, exitUsage)
			}
			if line := errorLine(err); !strings.Contains(line, tt.want) || strings.Contains(line, "\n") {
				t.Errorf("run: errorLine = %q, want one line containing %q", line, tt.want)
			}
			if stdout.Len()+stderr.Len() > 0 {
				t.Errorf("run printed %q and %q on bad input, want nothing", stdout.String(), stderr.String())
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("run created %s on bad input (stat: %v)", out, err)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	r := runTrain(t, t.TempDir(), "-h")
	if r.code != 0 {
		t.Errorf("-h: exit %d, want 0", r.code)
	}
	if strings.Count(r.stderr, "usage: train") != 1 || !strings.Contains(r.stderr, "-d-model int") {
		t.Errorf("-h: stderr does not hold the usage once:\n%s", r.stderr)
	}
	// -directions had "(default 2)", which a transformer (the default
	// model) refuses.
	_, dirHelp, _ := strings.Cut(r.stderr, "-directions int\n")
	dirHelp, _, _ = strings.Cut(dirHelp, "\n")
	if strings.Contains(dirHelp, "(default 2)") || !strings.Contains(dirHelp, "-model lstm only") {
		t.Errorf("-h: -directions says %q; want no plain default and that only an lstm takes it", dirHelp)
	}
}

// TestCrashSafety kills training with SIGKILL at random moments, half of
// them while a checkpoint is being written (at least a third of all kills
// must land mid-save), and checks after every kill that the run directory
// loads and that -resume continues it. At the end the run is resumed to
// completion and its metrics hold each step once.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills training 24 times")
	}
	const kills = 24
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	rng := rand.New(rand.NewPCG(2024, 6))
	args := func(extra ...string) []string {
		return tiny(slices.Concat([]string{"-save-every", "2", "-eval-every", "5", "-log-every", "1", "-keep", "2", "-steps", "100000"}, extra)...)
	}
	var (
		last                      = -1 // newest step seen after a kill
		beforeAny, midSave, fresh int
	)
	for i := range kills {
		// Temporary directories of saves that an earlier kill cut short
		// stay until the next save prunes them: only new ones count.
		leftover := tmpDirs(dir)
		newTmp := func() bool {
			for name := range tmpDirs(dir) {
				if !leftover[name] {
					return true
				}
			}
			return false
		}
		var p *proc
		if len(steps(t, dir)) == 0 {
			if i > 0 {
				// Killed before its first checkpoint: there is nothing to
				// resume, and -resume must say so.
				beforeAny++
				r := runTrain(t, work, args("-resume", dir)...)
				checkUsageError(t, r, dir)
				// Nor does a fresh run start over it once it is marked:
				// what it logged stays until the user removes it.
				if train.HoldsRun(dir) {
					r = runTrain(t, work, args("-out", dir)...)
					checkUsageError(t, r, dir+" already holds a run, stopped before its first checkpoint")
				}
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			fresh++
			p = startTrain(t, work, args("-out", dir)...)
		} else {
			p = startTrain(t, work, args("-resume", dir)...)
		}
		switch {
		case i == 0:
			// Within the first milliseconds: before any checkpoint exists.
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		case i%2 == 1:
			// While a save is under way: its temporary directory exists.
			waitFor(t, p, "a save to start", newTmp)
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		default:
			// At a random moment of a run that has a checkpoint: a fresh
			// run may take longer than the sleep to reach its first on a
			// loaded machine, and a run never let past it tests nothing.
			if len(steps(t, dir)) == 0 {
				waitFor(t, p, "a first checkpoint", func() bool { return len(steps(t, dir)) > 0 })
			}
			time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		}
		if p.exited() {
			t.Fatalf("kill %d: training exited on its own (%v); stderr:\n%s", i, p.cmd.ProcessState, p.stderr)
		}
		p.signal(t, syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		if newTmp() {
			midSave++
		}

		got := steps(t, dir)
		if len(got) == 0 {
			if last >= 0 {
				t.Fatalf("kill %d: the run directory lost every checkpoint (had step %d)", i, last)
			}
			continue
		}
		// Every checkpoint directory is whole, not just the newest.
		for _, s := range got {
			if _, err := train.LoadCheckpoint(filepath.Join(dir, fmt.Sprintf("step-%08d", s))); err != nil {
				t.Fatalf("kill %d: %v", i, err)
			}
		}
		ck := openLatest(t, dir)
		if ck.Step() < last {
			t.Fatalf("kill %d: newest checkpoint went back from step %d to %d", i, last, ck.Step())
		}
		last = ck.Step()
	}
	t.Logf("%d kills: %d before any checkpoint, %d fresh starts, %d left a save half-written; newest step %d", kills, beforeAny, fresh, midSave, last)
	if last < 0 {
		t.Fatal("no checkpoint was ever written")
	}
	// The kills meant to land mid-save must mostly do so, or this test
	// no longer tests what a crash during a save leaves behind.
	if 3*midSave < kills {
		t.Errorf("only %d of %d kills landed while a save was under way, want at least a third", midSave, kills)
	}

	// Resume to completion, a few steps on.
	final := last + 3
	r := mustTrain(t, work, tiny("-resume", dir, "-steps", strconv.Itoa(final))...)
	if !strings.Contains(r.stderr, fmt.Sprintf("resuming %s at step %d of %d", filepath.Join(dir, fmt.Sprintf("step-%08d", last)), last, final)) {
		t.Errorf("resume did not report where it continued:\n%s", r.stderr)
	}
	if ck := openLatest(t, dir); ck.Step() != final {
		t.Errorf("after the resumed run the newest checkpoint is step %d, want %d", ck.Step(), final)
	}
	// Every kill may have logged past its checkpoint; resuming drops those
	// lines, so each training step is logged exactly once, in order.
	lines := metrics(t, dir)
	var logged []int
	for _, l := range lines {
		if _, ok := l["loss"]; ok {
			logged = append(logged, int(l["step"].(float64)))
		}
	}
	for i, s := range logged {
		if s != i+1 {
			t.Fatalf("metrics.jsonl logs training steps %v, want 1..%d once each", logged, final)
		}
	}
	if len(logged) != final {
		t.Errorf("metrics.jsonl logs %d training steps, want %d", len(logged), final)
	}
}

// TestKilledRunResumesExactly: a run killed with SIGKILL several times,
// some kills mid-save, and resumed each time with the same -steps ends
// bit-identical to a run that was never interrupted: the final model and
// optimizer files and state.json byte for byte, and metrics.jsonl line for
// line without its timing fields. Every run is a real process of the
// binary, so everything a resume needs must be on disk.
func TestKilledRunResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("kills training several times and trains twice")
	}
	const kills, total = 6, 300 // six kills reached steps 14 to 30 in trials: room to spare
	work := t.TempDir()
	args := func(extra ...string) []string {
		return tiny(slices.Concat([]string{"-steps", strconv.Itoa(total), "-dropout", "0.1",
			"-save-every", "3", "-eval-every", "7", "-log-every", "2", "-keep", "2"}, extra)...)
	}
	whole := filepath.Join(work, "whole")
	mustTrain(t, work, args("-out", whole)...)

	dir := filepath.Join(work, "killed")
	rng := rand.New(rand.NewPCG(2024, 7))
	last, midSave := 0, 0
	for i := range kills {
		var p *proc
		if i == 0 {
			p = startTrain(t, work, args("-out", dir)...)
		} else {
			p = startTrain(t, work, args("-resume", dir)...)
		}
		// Let it get past the last checkpoint, so every kill costs work
		// that the next process must redo exactly.
		waitFor(t, p, fmt.Sprintf("a checkpoint past step %d", last), func() bool {
			s := steps(t, dir)
			return len(s) > 0 && s[len(s)-1] > last
		})
		leftover := tmpDirs(dir)
		newTmp := func() bool {
			for name := range tmpDirs(dir) {
				if !leftover[name] {
					return true
				}
			}
			return false
		}
		if i%2 == 0 {
			waitFor(t, p, "a save to start", newTmp)
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Microsecond)
		} else {
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		}
		if p.exited() {
			t.Fatalf("kill %d: training finished before the kill (%v); lower -save-every or raise -steps", i, p.cmd.ProcessState)
		}
		p.signal(t, syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		if newTmp() {
			midSave++
		}
		last = openLatest(t, dir).Step()
	}
	t.Logf("%d kills, %d with a save half-written; resuming from step %d of %d", kills, midSave, last, total)
	if midSave == 0 {
		t.Errorf("no kill landed while a save was under way")
	}
	if last >= total {
		t.Fatalf("the killed run reached step %d of %d before its last resume", last, total)
	}
	mustTrain(t, work, args("-resume", dir)...)

	final := fmt.Sprintf("step-%08d", total)
	for _, name := range []string{"model.safetensors", "optimizer.safetensors", "state.json"} {
		a, err := os.ReadFile(filepath.Join(whole, final, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, final, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s/%s differs between the uninterrupted and the killed and resumed run", final, name)
		}
	}
	ma, mb := untimedMetrics(t, whole), untimedMetrics(t, dir)
	if len(ma) != len(mb) {
		t.Errorf("metrics.jsonl: %d lines uninterrupted, %d killed and resumed", len(ma), len(mb))
	}
	for i := range min(len(ma), len(mb)) {
		if ma[i] != mb[i] {
			t.Errorf("metrics.jsonl line %d differs:\n  uninterrupted: %s\n  resumed:       %s", i+1, ma[i], mb[i])
			break
		}
	}
}

// untimedMetrics returns dir's metrics.jsonl lines without the fields that
// depend on the clock, each re-encoded with sorted keys.
func untimedMetrics(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, m := range metrics(t, dir) {
		delete(m, "tokens_per_sec")
		delete(m, "elapsed_sec")
		b, err := json.Marshal(m) // sorted keys
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// tmpDirs returns the names of the temporary directories of unfinished
// saves in dir.
func tmpDirs(dir string) map[string]bool {
	m, _ := filepath.Glob(filepath.Join(dir, ".tmp-step-*"))
	names := make(map[string]bool, len(m))
	for _, path := range m {
		names[filepath.Base(path)] = true
	}
	return names
}

// metrics reads a run's metrics.jsonl, failing on a malformed line.
func metrics(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics.jsonl:%d: %v: %q", i+1, err, l)
		}
		lines = append(lines, m)
	}
	return lines
}

var (
	progressLine = regexp.MustCompile(`(?m)^step (\d+)/`)
	stoppedLine  = regexp.MustCompile(`stopped at step (\d+); saved in (\S+)`)
)

// lastProgress returns the newest step a plain progress line reported.
func lastProgress(stderr string) int {
	m := progressLine.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// TestSignal checks that SIGINT and SIGTERM stop training at a step
// boundary past the last periodic checkpoint, save that step, tell how to
// resume and exit 128+signal.
func TestSignal(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, "run")
			const every = 100
			p := startTrain(t, work, tiny("-out", dir, "-steps", "100000", "-save-every", strconv.Itoa(every), "-eval-every", strconv.Itoa(every), "-log-every", "1")...)
			// A periodic checkpoint, then steps past it.
			waitFor(t, p, "a checkpoint", func() bool { return len(steps(t, dir)) > 0 })
			saved := steps(t, dir)
			periodic := saved[len(saved)-1]
			var seen int
			waitFor(t, p, "a step past the checkpoint", func() bool {
				seen = lastProgress(p.stderr.String())
				return seen > periodic
			})
			p.signal(t, tt.sig)
			ps := p.wait(t, 30*time.Second)
			stderr := p.stderr.String()
			if ps.ExitCode() != tt.code {
				t.Fatalf("exit status %d (%v), want %d; stderr:\n%s", ps.ExitCode(), ps, tt.code, stderr)
			}
			if !strings.Contains(stderr, "-resume "+dir) {
				t.Errorf("stderr does not tell how to resume (-resume %s):\n%s", dir, lastLines(stderr, 5))
			}
			m := stoppedLine.FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("stderr does not say where it stopped:\n%s", lastLines(stderr, 5))
			}
			stopped, _ := strconv.Atoi(m[1])
			if stopped < seen {
				t.Errorf("stopped at step %d, before step %d that it reported done", stopped, seen)
			}
			if stopped <= periodic {
				t.Errorf("stopped at step %d, not past the periodic checkpoint %d", stopped, periodic)
			}
			if ck := openLatest(t, dir); ck.Step() != stopped {
				t.Errorf("newest checkpoint is step %d, want the step it stopped at, %d", ck.Step(), stopped)
			}
			// The message is right: -resume continues from there.
			r := mustTrain(t, work, tiny("-resume", dir, "-steps", strconv.Itoa(stopped+2))...)
			if !strings.Contains(r.stderr, fmt.Sprintf("at step %d of %d", stopped, stopped+2)) {
				t.Errorf("resume did not continue from step %d:\n%s", stopped, lastLines(r.stderr, 5))
			}
		})
	}

	t.Run("twice", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		p := startTrain(t, work, tiny("-out", dir, "-steps", "100000", "-save-every", "1", "-eval-every", "1000")...)
		waitFor(t, p, "a checkpoint", func() bool { return len(steps(t, dir)) > 0 })
		p.signal(t, syscall.SIGINT)
		// The second signal once the first is acknowledged, while the
		// final save may still be under way.
		waitFor(t, p, "the first signal to be acknowledged", func() bool {
			return strings.Contains(p.stderr.String(), "stopping at the next step")
		})
		p.signal(t, syscall.SIGINT)
		ps := p.wait(t, 5*time.Second)
		ws := ps.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled() && ws.Signal() == syscall.SIGINT:
			// Killed at once by the second signal.
		case ps.ExitCode() == exitInterrupted:
			t.Log("the save finished before the second signal arrived")
		default:
			t.Errorf("after two SIGINTs: %v, want killed by SIGINT or exit %d", ps, exitInterrupted)
		}
		if strings.Contains(p.stderr.String(), "goroutine ") {
			t.Errorf("stack trace on stderr:\n%s", p.stderr)
		}
		openLatest(t, dir)
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestResume checks what -resume accepts and refuses.
func TestResume(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	mustTrain(t, work, tiny("-out", dir, "-steps", "20", "-save-every", "10", "-eval-every", "10")...)
	before := metrics(t, dir)
	conflict := writeFile(t, filepath.Join(work, "heads.json"), `{"heads": 4}`)

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"architecture flag", []string{"-d-model", "32"}, "-d-model 32 contradicts the checkpoint's 16"},
		{"another flag", []string{"-lr", "0.5"}, "-lr 0.5 contradicts"},
		{"config file", []string{"-config", conflict}, "heads 4 contradicts the checkpoint's 2"},
		{"steps before the checkpoint", []string{"-steps", "10"}, "-steps 10 is before the checkpoint's step 20"},
		{"with init-from", []string{"-init-from", filepath.Join(dir, "step-00000020", "model.safetensors")}, "-init-from starts a new run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runTrain(t, work, slices.Concat([]string{"-resume", dir}, tt.args)...)
			checkUsageError(t, r, tt.want)
		})
	}
	if got := metrics(t, dir); len(got) != len(before) {
		t.Fatalf("refused resumes changed metrics.jsonl from %d to %d lines", len(before), len(got))
	}

	// Settings that may change do; the architecture flags, repeated with
	// the checkpoint's values, are no contradiction. -steps 30 is below
	// the default warmup, which must not matter: the run's own is 2.
	r := mustTrain(t, work, tiny("-resume", dir, "-steps", "30", "-save-every", "5", "-eval-every", "5")...)
	if !strings.Contains(r.stderr, "at step 20 of 30") {
		t.Errorf("resume did not start at step 20:\n%s", r.stderr)
	}
	ck := openLatest(t, dir)
	if ck.Step() != 30 || ck.Config.SaveEvery != 5 {
		t.Errorf("after resuming: step %d, save-every %d; want 30 and 5", ck.Step(), ck.Config.SaveEvery)
	}
	after := metrics(t, dir)
	if len(after) <= len(before) {
		t.Errorf("metrics.jsonl has %d lines after resuming, %d before: want it to grow", len(after), len(before))
	}
	if last := after[len(after)-1]; last["step"] != 30.0 || last["test_loss"] == nil {
		t.Errorf("last metrics line %v, want the test line at step 30", last)
	}
	var tests int
	for _, l := range after {
		if l["test_loss"] != nil {
			tests++
		}
	}
	if tests != 1 {
		t.Errorf("metrics.jsonl has %d test lines, want 1 (a resumed run's replaces the old)", tests)
	}

	// Bare -resume: every setting from the checkpoint, none from the
	// defaults (which are the reverse task's, d-model 64).
	r = mustTrain(t, work, "-resume", dir, "-steps", "32")
	if ck := openLatest(t, dir); ck.Step() != 32 || ck.Config.DModel != 16 || ck.Config.Task != "copy" {
		t.Errorf("bare -resume: step %d, d_model %d, task %q; want 32, 16, copy", ck.Step(), ck.Config.DModel, ck.Config.Task)
	}
}

// TestConfigFile checks the order of precedence: the task's preset, then
// the -config file, then flags on the command line.
func TestConfigFile(t *testing.T) {
	in := t.TempDir()
	file := writeFile(t, filepath.Join(in, "run.json"), `{
		"task": "sort", "d_model": 16, "heads": 2, "layers": 1, "d_ff": 32,
		"batch": 8, "seed": 7, "val_examples": 50, "test_examples": 50, "len": 6, "warmup": 2
	}`)
	for _, tt := range []struct {
		name  string
		args  []string
		check func(c train.Config) string
	}{
		{"file over preset", []string{"-config", file}, func(c train.Config) string {
			// sort's preset runs 2000 steps; the file leaves steps alone.
			if c.Task != "sort" || c.Steps != 2000 || c.DModel != 16 || c.Seed != 7 || c.Len != 6 {
				return "want task sort, steps 2000 (preset), d_model 16, seed 7, len 6 (file)"
			}
			return ""
		}},
		{"flags over file", []string{"-config", file, "-seed", "9", "-d-model", "32", "-steps", "40"}, func(c train.Config) string {
			if c.Task != "sort" || c.Seed != 9 || c.DModel != 32 || c.Steps != 40 || c.Heads != 2 {
				return "want task sort, heads 2 (file), seed 9, d_model 32, steps 40 (flags)"
			}
			return ""
		}},
		{"task flag picks the preset", []string{"-config", file, "-task", "copy"}, func(c train.Config) string {
			// copy's preset runs 1000 steps; the file's keys still apply.
			if c.Task != "copy" || c.Steps != 1000 || c.DModel != 16 {
				return "want task copy, steps 1000 (copy's preset), d_model 16 (file)"
			}
			return ""
		}},
		{"flag order does not matter", []string{"-seed", "9", "-config", file}, func(c train.Config) string {
			if c.Seed != 9 {
				return "want seed 9 (flag)"
			}
			return ""
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _, err := parse(context.Background(), tt.args, io.Discard)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.args, err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("parse(%q): %s; got %s", tt.args, msg, c.JSON())
			}
		})
	}

	// End to end: the printed config and the run's config.json agree.
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	r := mustTrain(t, work, "-config", file, "-task", "copy", "-steps", "6", "-seed", "9", "-out", dir)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved train.Config
	if err := train.DecodeConfig(bytes.NewReader(b), &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Task != "copy" || saved.Steps != 6 || saved.Seed != 9 || saved.DModel != 16 || saved.Batch != 8 {
		t.Errorf("config.json = %s, want task copy, steps 6, seed 9 (flags), d_model 16, batch 8 (file)", b)
	}
	if !strings.Contains(r.stderr, "config:\n"+string(b)) {
		t.Errorf("the printed config is not config.json:\n%s", r.stderr)
	}
}

// TestRunDirectory checks that a fresh run never touches another's
// checkpoints: an explicit -out that holds one is refused, and the default
// directory moves on to <dir>-2, -3.
func TestRunDirectory(t *testing.T) {
	work := t.TempDir()
	short := []string{"-steps", "3", "-warmup", "1", "-save-every", "3", "-eval-every", "3"}
	for i, want := range []string{"copy", "copy-2", "copy-3"} {
		r := mustTrain(t, work, tiny(short...)...)
		dir := filepath.Join("checkpoints", want)
		if !strings.Contains(r.stderr, "run directory: "+dir+"\n") {
			t.Errorf("run %d: stderr does not name run directory %s:\n%s", i+1, dir, r.stderr)
		}
		if got := steps(t, filepath.Join(work, dir)); !slices.Equal(got, []int{3}) {
			t.Errorf("run %d: %s holds checkpoints %v, want [3]", i+1, dir, got)
		}
	}

	out := filepath.Join(work, "checkpoints", "copy")
	r := runTrain(t, work, tiny(slices.Concat(short, []string{"-out", out})...)...)
	checkUsageError(t, r, "resume it with -resume "+out)
	if got := steps(t, out); !slices.Equal(got, []int{3}) {
		t.Errorf("a refused run changed %s: checkpoints %v, want [3]", out, got)
	}
}

// TestNewRunDir checks that a run without -out takes the first directory
// that neither holds a run nor is locked by a process training there.
func TestNewRunDir(t *testing.T) {
	root := t.TempDir()
	taken := func(name string) {
		if err := os.MkdirAll(filepath.Join(root, name, "step-00000001"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	taken("data-1")
	taken("data-1-2")
	taken("other-2")
	cfg, _, _, err := parse(context.Background(), tiny(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	busy := cfg
	busy.Out = filepath.Join(root, "busy")
	holder, err := train.New(busy) // holds busy's lock, as a training process would
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for _, tt := range []struct{ dir, want string }{
		{"fresh", "fresh"},
		{"data-1", "data-1-3"},
		{"other", "other"},
		{"busy", "busy-2"},
	} {
		tr, err := newRun(context.Background(), cfg, filepath.Join(root, tt.dir))
		if err != nil {
			t.Fatalf("newRun(%q): %v", tt.dir, err)
		}
		if got := tr.Dir(); got != filepath.Join(root, tt.want) {
			t.Errorf("newRun(%q) ran in %q, want %q", tt.dir, filepath.Base(got), tt.want)
		}
		tr.Close()
	}
}

// TestInitFrom checks that -init-from starts a run from saved weights and
// refuses weights of another shape, naming the tensor.
func TestInitFrom(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "src")
	mustTrain(t, work, tiny("-out", src, "-steps", "10", "-save-every", "10", "-eval-every", "10")...)
	weights := filepath.Join(src, "step-00000010", "model.safetensors")

	// In-process: every parameter equals the checkpoint's.
	cfg, _, _, err := parse(context.Background(), tiny("-out", filepath.Join(work, "unused")), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := initFrom(tr, weights); err != nil {
		t.Fatalf("initFrom: %v", err)
	}
	ck, err := train.LoadCheckpoint(filepath.Dir(weights))
	if err != nil {
		t.Fatal(err)
	}
	want := ck.Model.Params()
	for i, p := range tr.Model().Params() {
		if !slices.Equal(p.Float64s(), want[i].Float64s()) {
			t.Errorf("parameter %s differs from the checkpoint's after initFrom", p.Name())
		}
	}

	// The binary: a run from those weights starts where they left off, a
	// lower loss than from scratch.
	from := mustTrain(t, work, tiny("-out", filepath.Join(work, "from"), "-steps", "3", "-log-every", "1", "-init-from", weights)...)
	scratch := mustTrain(t, work, tiny("-out", filepath.Join(work, "scratch"), "-steps", "3", "-log-every", "1")...)
	if lf, ls := firstLoss(t, from.stderr), firstLoss(t, scratch.stderr); lf >= ls {
		t.Errorf("first loss from the weights %v, from scratch %v: want lower", lf, ls)
	}

	r := runTrain(t, work, tiny("-out", filepath.Join(work, "wide"), "-d-model", "32", "-init-from", weights)...)
	checkUsageError(t, r, `tensor "`)
	if !regexp.MustCompile(`tensor "[^"]+" has shape`).MatchString(r.stderr) {
		t.Errorf("stderr = %q, want it to name the tensor and its shape", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "wide")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused -init-from created its run directory (stat: %v)", err)
	}
}

var lossLine = regexp.MustCompile(`(?m)^step 1/\d+  loss ([0-9.]+)`)

func firstLoss(t *testing.T, stderr string) float64 {
	t.Helper()
	m := lossLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no progress line for step 1:\n%s", stderr)
	}
	x, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
