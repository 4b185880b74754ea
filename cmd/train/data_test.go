package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
)

// fileModel is the tiny model of a data-file run: model without the
// generated task's lengths, so that len comes from the files.
var fileModel = []string{"-d-model", "16", "-heads", "2", "-layers", "1", "-d-ff", "32", "-batch", "8", "-warmup", "2"}

// fileRun returns the arguments of a tiny data-file run followed by extra.
func fileRun(extra ...string) []string {
	return slices.Concat(fileModel, extra)
}

// copyLine is one copy example: n tokens, a TAB, the same tokens.
func copyLine(rng *rand.Rand, n int) string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = string(rune('a' + rng.IntN(8)))
	}
	s := strings.Join(toks, " ")
	return s + "\t" + s
}

// copyLines returns n copy examples with distinct inputs of minLen to
// maxLen tokens.
func copyLines(rng *rand.Rand, n, minLen, maxLen int) []string {
	seen := map[string]bool{}
	var lines []string
	for len(lines) < n {
		l := copyLine(rng, minLen+rng.IntN(maxLen-minLen+1))
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	return lines
}

func writeLines(t *testing.T, path string, lines []string) string {
	t.Helper()
	return writeFile(t, path, strings.Join(lines, "\n")+"\n")
}

// evalBin is cmd/eval, built on first use by the tests that evaluate a run
// next to trainBin, whose directory TestMain removes.
var evalBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(trainBin), "qkv-eval")
	// cmd/eval is not in this test binary: read its files so that go
	// test's cache sees a change to them.
	if _, err := testbuild.Sources("../eval"); err != nil {
		return "", err
	}
	out, err := testbuild.Command(bin, "../eval").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building cmd/eval: %v\n%s", err, out)
	}
	return bin, nil
})

// runEval runs qkv-eval to completion in dir.
func runEval(t *testing.T, dir string, args ...string) result {
	t.Helper()
	bin, err := evalBin()
	if err != nil {
		t.Fatal(err)
	}
	return runWithin(t, dir, time.Minute, bin, args...)
}

// runWithin runs bin in dir and fails the test if it runs longer than
// timeout.
func runWithin(t *testing.T, dir string, timeout time.Duration, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v; stderr:\n%s", filepath.Base(bin), strings.Join(args, " "), timeout, lastLines(stderr.String(), 5))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode(), cmd.ProcessState}
}

// mustEval runs qkv-eval and fails unless it exits 0.
func mustEval(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := runEval(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("eval %s: exit %d; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// evalReport is the part of qkv-eval's -json report the tests compare.
type evalReport struct {
	Metrics struct {
		Loss             float64 `json:"loss"`
		SequenceAccuracy float64 `json:"sequence_accuracy"`
		Examples         int     `json:"examples"`
	} `json:"metrics"`
	Examples []struct {
		Input []string `json:"input"`
	} `json:"examples"`
}

func evalJSON(t *testing.T, dir string, args ...string) evalReport {
	t.Helper()
	r := mustEval(t, dir, append(args, "-json")...)
	var rep evalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("eval %s: %v: %q", strings.Join(args, " "), err, r.stdout)
	}
	return rep
}

// runConfig reads the config.json of a run directory as generic JSON.
func runConfig(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s/config.json: %v", dir, err)
	}
	return m
}

// TestFileLen checks that a file run with learned positions records the
// len it was built with, so that its checkpoints load: len covers the
// longest line of the data and -val files, evaluation and -resume work,
// and an explicit -len shorter than a line names that line.
func TestFileLen(t *testing.T) {
	in := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 1))
	// The first line over 10 tokens is line 6 (20 tokens, the longest);
	// the validation file's line 3 has 25.
	lines := slices.Concat(copyLines(rng, 5, 2, 6), []string{copyLine(rng, 20)}, copyLines(rng, 54, 2, 19))
	trainFile := writeLines(t, filepath.Join(in, "train.tsv"), lines)
	valFile := writeLines(t, filepath.Join(in, "val.tsv"), slices.Concat(copyLines(rng, 2, 2, 6), []string{copyLine(rng, 25)}, copyLines(rng, 5, 2, 6)))
	short := []string{"-pos", "learned", "-steps", "20", "-save-every", "5", "-eval-every", "5", "-keep", "1"}

	for _, tt := range []struct {
		name       string
		args       []string
		wantLen    float64
		bestBefore bool // the best checkpoint is not the last
	}{
		{"data", []string{"-data", trainFile}, 20, false},
		{"val longer than data", []string{"-data", trainFile, "-val", valFile}, 25, false},
		// A learning rate this high makes step 15 the best of the four
		// validations: the final test loads a checkpoint from disk.
		{"best is not the last", []string{"-data", trainFile, "-lr", "0.3", "-schedule", "constant", "-eval-every", "1", "-save-every", "1"}, 20, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, "run")
			r := mustTrain(t, work, fileRun(slices.Concat(short, tt.args, []string{"-out", dir})...)...)
			if m := bestLine.FindStringSubmatch(r.stdout); tt.bestBefore && (m == nil || m[1] == "20") {
				t.Fatalf("the final test is not of an earlier best checkpoint:\n%s", r.stdout)
			}
			if got := runConfig(t, dir)["len"]; got != tt.wantLen {
				t.Errorf("config.json has len %v, want %v", got, tt.wantLen)
			}
			for _, which := range []string{"best", "latest"} {
				if r := runEval(t, work, "-ckpt", dir, "-which", which); r.code != 0 {
					t.Errorf("eval -which %s: exit %d; stderr:\n%s", which, r.code, r.stderr)
				}
			}
			r = mustTrain(t, work, "-resume", dir, "-steps", "30")
			if !strings.Contains(r.stderr, "at step 20 of 30") {
				t.Errorf("resume did not continue from step 20:\n%s", lastLines(r.stderr, 5))
			}
			if ck := openLatest(t, dir); ck.Step() != 30 {
				t.Errorf("after resuming the newest checkpoint is step %d, want 30", ck.Step())
			}
		})
	}

	for _, tt := range []struct {
		name, len, want string
	}{
		{"data line over -len", "10", "train.tsv:6: 20 tokens"},
		{"val line over -len", "22", "val.tsv:3: 25 tokens"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			r := runTrain(t, work, fileRun(slices.Concat(short, []string{"-data", trainFile, "-val", valFile, "-len", tt.len})...)...)
			checkUsageError(t, r, tt.want)
			if names := entries(t, work); len(names) > 0 {
				t.Errorf("working directory holds %q after bad input, want nothing", names)
			}
		})
	}
}

var bestLine = regexp.MustCompile(`held-out test \(best checkpoint, step (\d+)\)`)

var heldOutNote = regexp.MustCompile(`(?m)^data: held out: (\d+) validation examples \(([^)]*)\) and (\d+) test examples \(([^)]*)\); (\d+) training examples$`)

// heldOutCounts returns the sizes the "data: held out" line of stderr
// reports, and where val and test came from.
func heldOutCounts(t *testing.T, stderr string) (val, test, train int, valFrom, testFrom string) {
	t.Helper()
	m := heldOutNote.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr has no line reporting the held-out sets (data: held out: …):\n%s", lastLines(stderr, 8))
	}
	val, _ = strconv.Atoi(m[1])
	test, _ = strconv.Atoi(m[3])
	train, _ = strconv.Atoi(m[5])
	return val, test, train, m[2], m[4]
}

var testedOn = regexp.MustCompile(`held-out test \(best checkpoint, step \d+\): .* on (\d+) examples, loss ([0-9.]+)`)

// TestFileHeldOut checks that a file run's test set is neither its
// validation set nor trained on: split from the file when no -test is
// given, with inputs kept apart, and used by the final line, metrics.jsonl
// and qkv-eval -split test alike.
func TestFileHeldOut(t *testing.T) {
	in := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 2))
	// 50 inputs, each on two lines: a split that kept lines apart but
	// not inputs would train on held-out inputs.
	distinct := copyLines(rng, 50, 2, 8)
	var lines []string
	for _, l := range distinct {
		lines = append(lines, l, l)
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	trainFile := writeLines(t, filepath.Join(in, "train.tsv"), lines)
	testFile := writeLines(t, filepath.Join(in, "test.tsv"), copyLines(rng, 7, 2, 8))
	short := []string{"-steps", "20", "-save-every", "10", "-eval-every", "10", "-data", trainFile}

	t.Run("split", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		r := mustTrain(t, work, fileRun(slices.Concat(short, []string{"-out", dir})...)...)
		nval, ntest, ntrain, valFrom, testFrom := heldOutCounts(t, r.stderr)
		if nval != 10 || ntest != 10 || ntrain != 80 {
			t.Errorf("held out %d val, %d test, %d train of 100 lines; want 10, 10, 80", nval, ntest, ntrain)
		}
		if want := "split from " + trainFile; valFrom != want || testFrom != want {
			t.Errorf("held-out sets from %q and %q, want %q", valFrom, testFrom, want)
		}

		// heldout.json: no input in two sets, so every line of a held-out
		// input is held out, and training has the rest.
		var rec struct {
			Val, Test []struct{ Input, Target string }
		}
		b, err := os.ReadFile(filepath.Join(dir, "heldout.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		held := map[string]string{}
		for set, exs := range map[string][]struct{ Input, Target string }{"val": rec.Val, "test": rec.Test} {
			for _, ex := range exs {
				if other, ok := held[ex.Input]; ok && other != set {
					t.Errorf("input %q is in both %s and %s", ex.Input, other, set)
				}
				held[ex.Input] = set
			}
		}
		if len(rec.Val) != nval || len(rec.Test) != ntest {
			t.Errorf("heldout.json has %d val and %d test examples, stderr says %d and %d", len(rec.Val), len(rec.Test), nval, ntest)
		}
		heldLines := 0
		for _, l := range lines {
			if _, ok := held[strings.Split(l, "\t")[0]]; ok {
				heldLines++
			}
		}
		if heldLines != nval+ntest {
			t.Errorf("%d lines of the file have a held-out input, %d are held out: the rest were trained on", heldLines, nval+ntest)
		}

		m := testedOn.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("stdout has no held-out test line:\n%s", r.stdout)
		}
		if n, _ := strconv.Atoi(m[1]); n != ntest {
			t.Errorf("final line tested on %d examples, want the %d test examples", n, ntest)
		}
		var logged float64
		for _, l := range metrics(t, dir) {
			if x, ok := l["test_loss"].(float64); ok {
				logged = x
			}
		}
		test := evalJSON(t, work, "-ckpt", dir, "-split", "test", "-show", "100")
		val := evalJSON(t, work, "-ckpt", dir, "-split", "val", "-show", "100")
		if test.Metrics.Examples != ntest || val.Metrics.Examples != nval {
			t.Errorf("eval -split test has %d examples, -split val %d; want %d and %d", test.Metrics.Examples, val.Metrics.Examples, ntest, nval)
		}
		if math.Abs(test.Metrics.Loss-logged) > 1e-6 {
			t.Errorf("eval -split test loss %v, metrics.jsonl's test_loss %v: want the same", test.Metrics.Loss, logged)
		}
		if test.Metrics.Loss == val.Metrics.Loss {
			t.Errorf("eval -split test and -split val both have loss %v: the same set?", test.Metrics.Loss)
		}
		for _, ex := range test.Examples {
			for _, v := range val.Examples {
				if slices.Equal(ex.Input, v.Input) {
					t.Errorf("input %q is in both eval -split test and -split val", ex.Input)
				}
			}
		}
	})

	t.Run("test file", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		r := mustTrain(t, work, fileRun(slices.Concat(short, []string{"-test", testFile, "-out", dir})...)...)
		nval, ntest, ntrain, _, testFrom := heldOutCounts(t, r.stderr)
		if nval != 10 || ntest != 7 || ntrain != 90 || testFrom != "from "+testFile {
			t.Errorf("held out %d val, %d test (%s), %d train; want 10, 7 (from %s), 90", nval, ntest, testFrom, ntrain, testFile)
		}
		if m := testedOn.FindStringSubmatch(r.stdout); m == nil || m[1] != "7" {
			t.Errorf("final line does not test on the 7 examples of %s:\n%s", testFile, r.stdout)
		}
		if rep := evalJSON(t, work, "-ckpt", dir, "-split", "test"); rep.Metrics.Examples != 7 {
			t.Errorf("eval -split test has %d examples, want 7", rep.Metrics.Examples)
		}
		if rep := evalJSON(t, work, "-ckpt", dir, "-split", "val"); rep.Metrics.Examples != 10 {
			t.Errorf("eval -split val has %d examples, want 10", rep.Metrics.Examples)
		}
	})

	t.Run("overlap", func(t *testing.T) {
		// val: 3 of 5 inputs from the training file; test: 1 of 4.
		val := writeLines(t, filepath.Join(in, "val-overlap.tsv"), slices.Concat(distinct[:3], copyLines(rng, 2, 9, 10)))
		test := writeLines(t, filepath.Join(in, "test-overlap.tsv"), slices.Concat(distinct[3:4], copyLines(rng, 3, 9, 10)))
		work := t.TempDir()
		r := mustTrain(t, work, fileRun(slices.Concat(short, []string{"-val", val, "-test", test, "-out", filepath.Join(work, "run")})...)...)
		if nval, ntest, ntrain, _, _ := heldOutCounts(t, r.stderr); nval != 5 || ntest != 4 || ntrain != 100 {
			t.Errorf("held out %d val, %d test, %d train; want 5, 4, 100", nval, ntest, ntrain)
		}
		for _, want := range []string{
			"data: val " + val + ": 3 of 5 examples have an input that also occurs in training\n",
			"data: test " + test + ": 1 of 4 examples have an input that also occurs in training\n",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, lastLines(r.stderr, 8))
			}
		}
	})
}

// TestHeldOutRecord checks that a file run is evaluated from its own
// directory alone: the same numbers from any working directory and after
// the data file changed or went, an error naming heldout.json when that
// was edited, and -resume refused when the data file changed.
func TestHeldOutRecord(t *testing.T) {
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	dataFile := filepath.Join(work, "data", "train.tsv")
	writeLines(t, dataFile, copyLines(rand.New(rand.NewPCG(7, 3)), 60, 2, 8))
	dir := filepath.Join(work, "run")
	// A relative -data, as config.json then records it.
	mustTrain(t, work, fileRun("-data", filepath.Join("data", "train.tsv"), "-steps", "20", "-save-every", "10", "-eval-every", "10", "-out", "run")...)

	evalArgs := []string{"-ckpt", dir, "-json", "-show", "3"}
	want := mustEval(t, work, evalArgs...).stdout
	same := func(when string) {
		t.Helper()
		r := runEval(t, t.TempDir(), evalArgs...)
		if r.code != 0 {
			t.Fatalf("%s: eval from another directory: exit %d; stderr:\n%s", when, r.code, r.stderr)
		}
		if r.stdout != want {
			t.Errorf("%s: eval from another directory gives\n%s, from the run's\n%s", when, r.stdout, want)
		}
	}
	same("after training")

	// The data file changed: its lines reordered (the same vocabulary),
	// then a token renamed. Evaluation reads neither; -resume refuses
	// both, naming the file.
	b, err := os.ReadFile(dataFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Reverse(lines)
	for _, change := range []struct{ name, content string }{
		{"lines reordered", strings.Join(lines, "\n") + "\n"},
		{"token renamed", strings.ReplaceAll(string(b), "a", "z")},
	} {
		writeFile(t, dataFile, change.content)
		same(change.name)
		if r := mustEval(t, work, evalArgs...); r.stdout != want {
			t.Errorf("%s: eval from the run's working directory gives\n%s, before\n%s", change.name, r.stdout, want)
		}
		r := runTrain(t, work, "-resume", dir, "-steps", "30")
		checkUsageError(t, r, "data file "+dataFile+" changed")
	}

	if err := os.Remove(dataFile); err != nil {
		t.Fatal(err)
	}
	same("data file deleted")

	// An edited record is refused, not evaluated.
	held := filepath.Join(dir, "heldout.json")
	b, err = os.ReadFile(held)
	if err != nil {
		t.Fatal(err)
	}
	edited := regexp.MustCompile(`"target": "[a-h]`).ReplaceAllStringFunc(string(b), func(s string) string {
		return s[:len(s)-1] + string(rune('a'+(s[len(s)-1]-'a'+1)%8))
	})
	if edited == string(b) {
		t.Fatalf("no target to edit in %s:\n%s", held, b)
	}
	writeFile(t, held, edited)
	r := runEval(t, t.TempDir(), evalArgs...)
	if r.code == 0 {
		t.Fatalf("eval with an edited heldout.json: exit 0; stdout:\n%s", r.stdout)
	}
	if lines := strings.Count(r.stderr, "\n"); lines != 1 || !strings.Contains(r.stderr, "heldout.json") || !strings.Contains(r.stderr, "-data") {
		t.Errorf("eval with an edited heldout.json: stderr = %q, want one line naming heldout.json and -data", r.stderr)
	}
}

// TestRunLock checks with real processes that one run directory has one
// trainer: a second fresh run and a -resume are refused at once while the
// first trains, the lock dies with a killed trainer, and a run without
// -out moves on to the next directory.
func TestRunLock(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	slow := []string{"-steps", "1000000", "-save-every", "10", "-eval-every", "1000000", "-keep", "1"}
	first := startTrain(t, work, tiny(slices.Concat(slow, []string{"-out", dir})...)...)
	waitFor(t, first, "a checkpoint", func() bool { return len(steps(t, dir)) > 0 })

	for _, args := range [][]string{
		tiny("-out", dir, "-steps", "5"),
		tiny("-resume", dir),
	} {
		start := time.Now()
		r := runWithin(t, work, 10*time.Second, trainBin, args...)
		checkUsageError(t, r, dir+" is in use")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("train %s took %v to refuse, want at once", strings.Join(args, " "), d)
		}
	}
	if first.exited() {
		t.Fatalf("the first trainer exited: %v; stderr:\n%s", first.cmd.ProcessState, lastLines(first.stderr.String(), 5))
	}

	first.signal(t, syscall.SIGKILL)
	first.wait(t, 10*time.Second)
	last := openLatest(t, dir).Step()
	r := mustTrain(t, work, tiny("-resume", dir, "-steps", strconv.Itoa(last+2))...)
	if !strings.Contains(r.stderr, fmt.Sprintf("at step %d of %d", last, last+2)) {
		t.Errorf("-resume after SIGKILL did not continue from step %d:\n%s", last, lastLines(r.stderr, 5))
	}

}

// TestRunLockDefaultDir checks that a run without -out started while
// another trains in the default directory takes the next one, although
// the first has not saved a checkpoint yet.
func TestRunLockDefaultDir(t *testing.T) {
	work := t.TempDir()
	first := startTrain(t, work, tiny("-steps", "1000000", "-save-every", "1000000", "-eval-every", "1000000")...)
	waitFor(t, first, "the first run to start", func() bool {
		return strings.Contains(first.stderr.String(), "run directory: ")
	})
	r := mustTrain(t, work, tiny("-steps", "3", "-save-every", "3", "-eval-every", "3", "-warmup", "1")...)
	if want := "run directory: " + filepath.Join("checkpoints", "copy-2") + "\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("second run without -out: stderr lacks %q:\n%s", want, lastLines(r.stderr, 8))
	}
	if first.exited() {
		t.Errorf("the first run exited: %v; stderr:\n%s", first.cmd.ProcessState, lastLines(first.stderr.String(), 5))
	}
}

// TestDataText checks that text is read as the tokens it spells: a BOM is
// not part of a token, bytes that are no text are file:line errors, and a
// validation file of mostly unknown tokens is warned about.
func TestDataText(t *testing.T) {
	in := t.TempDir()
	good := strings.Join(copyLines(rand.New(rand.NewPCG(7, 4)), 30, 2, 6), "\n") + "\n"
	short := []string{"-steps", "5", "-save-every", "5", "-eval-every", "5"}

	t.Run("BOM", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		bom := writeFile(t, filepath.Join(in, "bom.tsv"), "\uFEFF"+good)
		mustTrain(t, work, fileRun(slices.Concat(short, []string{"-data", bom, "-out", dir})...)...)
		ck := openLatest(t, dir)
		for _, tok := range slices.Concat(ck.Vocab.In, ck.Vocab.Out) {
			if strings.Contains(tok, "\uFEFF") {
				t.Errorf("token %q holds the byte-order mark", tok)
			}
		}
	})

	t.Run("BOM in config", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		cfg := writeFile(t, filepath.Join(in, "bom.json"), "\uFEFF"+`{"seed": 5}`+"\n")
		mustTrain(t, work, tiny(slices.Concat(short, []string{"-config", cfg, "-out", dir})...)...)
		if got := runConfig(t, dir)["seed"]; got != 5.0 {
			t.Errorf("config.json has seed %v, want 5 from the config file", got)
		}
	})

	for _, tt := range []struct {
		name, file, content, flag, want string
	}{
		{"invalid UTF-8", "latin1.tsv", "a b\ta b\nc \xe9 d\tc \xe9 d\n" + good, "-data", "latin1.tsv:2: invalid UTF-8"},
		{"invalid UTF-8 in val", "val.tsv", "a b\ta b\nc d\tc d\nc \xff\tc \xff\n", "-val", "val.tsv:3: invalid UTF-8"},
		{"NUL", "nul.tsv", "a b\ta b\nb c\tb c\nc\x00d\tc d\n" + good, "-data", "nul.tsv:3: NUL byte"},
		{"CR line endings", "mac.tsv", strings.ReplaceAll(good, "\n", "\r"), "-data", "mac.tsv:1: carriage return"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(in, tt.file), tt.content)
			args := []string{tt.flag, path}
			if tt.flag != "-data" {
				args = append(args, "-data", writeFile(t, filepath.Join(in, "good.tsv"), good))
			}
			work := t.TempDir()
			r := runTrain(t, work, fileRun(slices.Concat(short, args)...)...)
			checkUsageError(t, r, tt.want)
			if names := entries(t, work); len(names) > 0 {
				t.Errorf("working directory holds %q after bad input, want nothing", names)
			}
		})
	}

	t.Run("unknown tokens", func(t *testing.T) {
		// 4 lines of 6 tokens, 4 of each line's unknown: 16 of 24.
		val := writeFile(t, filepath.Join(in, "other.tsv"), "p q a\tp q a\nr s b\tr s b\np r c\tp r c\nq s d\tq s d\n")
		data := writeFile(t, filepath.Join(in, "good.tsv"), good)
		work := t.TempDir()
		r := mustTrain(t, work, fileRun(slices.Concat(short, []string{"-data", data, "-val", val, "-out", filepath.Join(work, "run")})...)...)
		if want := "data: warning: val " + val + ": 16 of 24 tokens are not in the training file's vocabulary"; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, lastLines(r.stderr, 8))
		}
	})
}

// TestSmallFixes checks the small promises of issue 7 one by one.
func TestSmallFixes(t *testing.T) {
	in := t.TempDir()
	noWarmup := func(extra ...string) []string {
		a := tiny(extra...)
		i := slices.Index(a, "-warmup")
		return slices.Delete(a, i, i+2)
	}

	t.Run("default warmup fits few steps", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		mustTrain(t, work, noWarmup("-steps", "50", "-save-every", "50", "-eval-every", "50", "-out", dir)...)
		if got := runConfig(t, dir)["warmup"]; got != 5.0 {
			t.Errorf("config.json has warmup %v, want min(100, 50/10) = 5", got)
		}
	})

	t.Run("warmup not below steps", func(t *testing.T) {
		r := runTrain(t, t.TempDir(), noWarmup("-warmup", "100", "-steps", "50")...)
		checkUsageError(t, r, "-warmup 100")
	})

	// A finished run that the subtests below try to misuse.
	work := t.TempDir()
	run := filepath.Join(work, "run")
	mustTrain(t, work, tiny("-out", run, "-steps", "10", "-save-every", "10", "-eval-every", "10")...)
	config, err := os.ReadFile(filepath.Join(run, "config.json"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("resume with another out", func(t *testing.T) {
		other := filepath.Join(work, "other")
		r := runTrain(t, work, tiny("-resume", run, "-out", other, "-steps", "12")...)
		checkUsageError(t, r, "-out "+other)
		if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("refused run created %s (stat: %v)", other, err)
		}
		if got := steps(t, run); !slices.Equal(got, []int{10}) {
			t.Errorf("refused run changed %s: checkpoints %v, want [10]", run, got)
		}
		if b, _ := os.ReadFile(filepath.Join(run, "config.json")); !bytes.Equal(b, config) {
			t.Errorf("refused run rewrote %s/config.json:\n%s", run, b)
		}
	})

	t.Run("out is a file", func(t *testing.T) {
		file := writeFile(t, filepath.Join(in, "not-a-dir"), "x\n")
		r := runTrain(t, t.TempDir(), tiny("-out", file, "-steps", "3")...)
		checkUsageError(t, r, file)
		if strings.Contains(r.stderr, "config:") {
			t.Errorf("the config was printed before the error:\n%s", r.stderr)
		}
	})

	t.Run("resume a task with data", func(t *testing.T) {
		data := writeFile(t, filepath.Join(in, "data.tsv"), "a b\ta b\nc d\tc d\nb c\tb c\n")
		r := runTrain(t, work, "-resume", run, "-data", data)
		checkUsageError(t, r, "generated task copy")
		if strings.Contains(r.stderr, `""`) {
			t.Errorf("stderr names an empty value: %q", r.stderr)
		}
	})

	t.Run("SIGHUP", func(t *testing.T) {
		work := t.TempDir()
		dir := filepath.Join(work, "run")
		p := startTrain(t, work, tiny("-out", dir, "-steps", "100000", "-save-every", "100000", "-eval-every", "100000", "-log-every", "1")...)
		waitFor(t, p, "a step", func() bool { return lastProgress(p.stderr.String()) >= 3 })
		p.signal(t, syscall.SIGHUP)
		ps := p.wait(t, 30*time.Second)
		if ps.ExitCode() != exitHangup {
			t.Fatalf("after SIGHUP: %v, want exit status %d; stderr:\n%s", ps, exitHangup, lastLines(p.stderr.String(), 5))
		}
		m := stoppedLine.FindStringSubmatch(p.stderr.String())
		if m == nil {
			t.Fatalf("stderr does not say where it stopped:\n%s", lastLines(p.stderr.String(), 5))
		}
		stopped, _ := strconv.Atoi(m[1])
		if ck := openLatest(t, dir); ck.Step() != stopped {
			t.Errorf("newest checkpoint is step %d, want the step it stopped at, %d", ck.Step(), stopped)
		}
		r := mustTrain(t, work, tiny("-resume", dir, "-steps", strconv.Itoa(stopped+2))...)
		if !strings.Contains(r.stderr, fmt.Sprintf("at step %d of %d", stopped, stopped+2)) {
			t.Errorf("resume did not continue from step %d:\n%s", stopped, lastLines(r.stderr, 5))
		}
	})

	for _, tt := range []struct{ name, json, want string }{
		{"config key in another case", `{"D_Model": 16}`, `"D_Model" (did you mean "d_model"?)`},
		{"config null", `{"d_model": null}`, `"d_model" is null`},
		{"config key twice", `{"seed": 1, "seed": 2}`, `"seed" appears more than once`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeFile(t, filepath.Join(in, "config.json"), tt.json)
			work := t.TempDir()
			r := runTrain(t, work, tiny("-config", cfg, "-steps", "3", "-warmup", "1", "-out", filepath.Join(work, "run"))...)
			checkUsageError(t, r, tt.want)
		})
	}

	t.Run("state with a negative step", func(t *testing.T) {
		// A copy of the run with state.json edited and the manifest
		// re-hashed to match: the checksums pass, the contents must not.
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.CopyFS(dir, os.DirFS(run)); err != nil {
			t.Fatal(err)
		}
		ckpt := filepath.Join(dir, "step-00000010")
		var st map[string]any
		readJSON(t, filepath.Join(ckpt, "state.json"), &st)
		st["step"] = -5
		b := writeJSON(t, filepath.Join(ckpt, "state.json"), st)
		var man struct {
			Format int `json:"format"`
			Files  map[string]struct {
				Size   int64  `json:"size"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		}
		readJSON(t, filepath.Join(ckpt, "manifest.json"), &man)
		e := man.Files["state.json"]
		sum := sha256.Sum256(b)
		e.Size, e.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
		man.Files["state.json"] = e
		writeJSON(t, filepath.Join(ckpt, "manifest.json"), man)

		r := runEval(t, t.TempDir(), "-ckpt", ckpt)
		if r.code == 0 || !strings.Contains(r.stderr, "state.json") || !strings.Contains(r.stderr, "step -5") {
			t.Errorf("eval of a checkpoint at step -5: exit %d, stderr %q; want an error naming state.json and step -5", r.code, r.stderr)
		}
		r = runTrain(t, t.TempDir(), "-resume", ckpt)
		checkUsageError(t, r, "step -5")
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
	return b
}

// TestResultWriteError checks that a result that cannot be written fails
// the run's exit status: with stdout on a full disk, qkv-train used to
// exit 0 and the held-out numbers were lost without a word.
func TestResultWriteError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	work := t.TempDir()
	cmd := exec.Command(trainBin, tiny("-out", filepath.Join(work, "run"), "-steps", "3")...)
	cmd.Dir = work
	cmd.Stdout = full
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "writing the result (the run is saved in") {
		t.Errorf("qkv-train > /dev/full: %v, stderr tail %q; want exit 1 saying the result was not written", err, lastLine(stderr.String()))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestInitFromOtherVocabulary checks that -init-from refuses the weights of
// a checkpoint whose vocabulary differs from the run's even when every
// shape fits: copy and reverse share their shapes, not their tokens' roles
// — here the vocabularies differ by a symbol count.
func TestInitFromOtherVocabulary(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "src")
	mustTrain(t, work, tiny("-vocab", "8", "-out", src, "-steps", "4", "-save-every", "4", "-eval-every", "4")...)
	weights := filepath.Join(src, "step-00000004", "model.safetensors")
	// Same shapes (8 symbols + 2 specials both ways), other tokens: a data
	// file over ten other words.
	data := filepath.Join(work, "words.tsv")
	var b strings.Builder
	for i := range 40 {
		w := []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"}
		b.WriteString(w[i%8] + " " + w[(i/8)%8] + "\t" + w[i%8] + " " + w[(i/8)%8] + "\n")
	}
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, fileModel...), "-data", data, "-len", "6", "-steps", "3", "-init-from", weights, "-out", filepath.Join(work, "dst"))
	checkUsageError(t, runTrain(t, work, args...), "differs from this run's")
	// The same vocabulary is taken.
	mustTrain(t, work, tiny("-vocab", "8", "-out", filepath.Join(work, "same"), "-steps", "3", "-init-from", weights)...)
	// The weights alone, without the vocab.json beside them, cannot be
	// checked: refused (they were taken silently, whatever their tokens).
	bare := filepath.Join(work, "bare", "model.safetensors")
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(weights); err != nil || os.WriteFile(bare, b, 0o644) != nil {
		t.Fatalf("copying the weights: %v", err)
	}
	checkUsageError(t, runTrain(t, work, tiny("-vocab", "8", "-out", filepath.Join(work, "bare-run"), "-steps", "3", "-init-from", bare)...), "no vocab.json beside it")
}
