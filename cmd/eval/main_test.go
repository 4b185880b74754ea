package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qkv-dev/qkv/internal/testbuild"
	"github.com/qkv-dev/qkv/train"
)

var (
	evalBin string // cmd/eval, built once by TestMain
	runDir  string // a tiny copy-task run that every test evaluates
)

// runConfig is the shared run: trained long enough to be right on some
// examples and too briefly to be right on all (40% of val), so that -show
// has both to mark.
func runConfig(out string) train.Config {
	c, err := train.Preset("copy")
	if err != nil {
		panic(err)
	}
	c.Len, c.MinLen, c.DModel, c.Heads, c.Layers, c.DFF = 6, 2, 16, 2, 1, 32
	c.Batch, c.ValExamples, c.TestExamples, c.Warmup = 8, 50, 50, 2
	c.Steps, c.EvalEvery, c.SaveEvery, c.LogEvery, c.Keep = 120, 10, 10, 10, 3
	c.Out = out
	return c
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "qkv-cmd-eval-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	evalBin = filepath.Join(dir, "qkv-eval")
	build := testbuild.Command(evalBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cmd/eval:", err)
		return 1
	}
	runDir = filepath.Join(dir, "copy")
	tr, err := train.New(runConfig(runDir))
	if err == nil {
		_, err = tr.Run(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "training the run to evaluate:", err)
		return 1
	}
	return m.Run()
}

type result struct {
	stdout, stderr string
	code           int
}

// runEval runs the binary to completion.
func runEval(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, evalBin, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("eval %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("eval %s: did not finish within a minute", strings.Join(args, " "))
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// mustEval runs the binary and fails unless it exits 0.
func mustEval(t *testing.T, args ...string) result {
	t.Helper()
	r := runEval(t, args...)
	if r.code != 0 {
		t.Fatalf("eval %s: exit %d; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadInput checks that bad input exits 2 with one line on stderr that
// names the problem, and nothing on stdout.
func TestBadInput(t *testing.T) {
	in := t.TempDir()
	bad := writeFile(t, filepath.Join(in, "bad.tsv"), "a b\ta b\nc d e\n")
	good := writeFile(t, filepath.Join(in, "good.txt"), "a b\n")
	utf := writeFile(t, filepath.Join(in, "utf.txt"), "a b\nc \xff\n")
	nul := writeFile(t, filepath.Join(in, "nul.txt"), "a\x00b\n")
	comments := writeFile(t, filepath.Join(in, "comments.txt"), "# nothing\n")
	reserved := writeFile(t, filepath.Join(in, "reserved.txt"), "a\n\nb <pad>\n")
	empty := t.TempDir()
	steps, _ := filepath.Glob(filepath.Join(runDir, "step-*"))
	if len(steps) == 0 {
		t.Fatalf("no checkpoint in %s", runDir)
	}
	noDir := filepath.Join(in, "missing", "x.png")
	huge := writeFile(t, filepath.Join(in, "huge.txt"), "a b\n"+strings.Repeat("a ", 30000)+"\nc\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-ckpt", runDir, "-nope"}, "flag provided but not defined: -nope"},
		{"extra argument", []string{"-ckpt", runDir, "extra"}, `unexpected argument "extra"`},
		{"missing -ckpt", []string{"-split", "val"}, "-ckpt DIR is required"},
		{"nonexistent directory", []string{"-ckpt", filepath.Join(in, "nowhere")}, "nowhere: no such file or directory"},
		{"directory without checkpoints", []string{"-ckpt", empty}, "no loadable checkpoint"},
		{"unknown split", []string{"-ckpt", runDir, "-split", "nope"}, `unknown split "nope"`},
		{"unknown checkpoint choice", []string{"-ckpt", runDir, "-which", "first"}, `unknown checkpoint choice "first"`},
		{"length within training", []string{"-ckpt", runDir, "-len", "5"}, "length 5 is within the training lengths 2..6"},
		{"negative count", []string{"-ckpt", runDir, "-n", "-1"}, "must not be negative"},
		{"data and length", []string{"-ckpt", runDir, "-data", bad, "-len", "8"}, "give -data or -len, not both"},
		{"malformed data file", []string{"-ckpt", runDir, "-data", bad}, "bad.tsv:2: no tab"},
		{"missing data file", []string{"-ckpt", runDir, "-data", filepath.Join(in, "none.tsv")}, "none.tsv: no such file or directory"},
		{"attention without input", []string{"-ckpt", runDir, "-attention"}, "need -input"},
		{"input without tokens", []string{"-ckpt", runDir, "-input", "  "}, "-input has no tokens"},

		// Given but empty: not the default.
		{"empty -input", []string{"-ckpt", runDir, "-input", ""}, "-input has no tokens"},
		{"empty -data", []string{"-ckpt", runDir, "-data", ""}, "-data is empty"},
		{"empty -predict", []string{"-ckpt", runDir, "-predict", ""}, "-predict is empty"},
		{"empty -attention-png", []string{"-ckpt", runDir, "-input", "a", "-attention-png", ""}, "-attention-png is empty"},

		// Flags that would be ignored.
		{"data and input", []string{"-ckpt", runDir, "-data", bad, "-input", "a b"}, "give -data or -input, not both"},
		{"length and input", []string{"-ckpt", runDir, "-len", "8", "-input", "a b"}, "give -len or -input, not both"},
		{"input and predict", []string{"-ckpt", runDir, "-input", "a b", "-predict", good}, "give -input or -predict, not both"},
		{"data and predict", []string{"-ckpt", runDir, "-data", bad, "-predict", good}, "give -data or -predict, not both"},
		{"length and predict", []string{"-ckpt", runDir, "-len", "8", "-predict", good}, "give -len or -predict, not both"},
		{"split and data", []string{"-ckpt", runDir, "-split", "val", "-data", bad}, "-split chooses a held-out split of the run; it does not apply to -data"},
		{"split and length", []string{"-ckpt", runDir, "-split", "val", "-len", "8"}, "it does not apply to -len"},
		{"split and input", []string{"-ckpt", runDir, "-split", "test", "-input", "a"}, "it does not apply to -input"},
		{"split and predict", []string{"-ckpt", runDir, "-split", "test", "-predict", good}, "it does not apply to -predict"},
		{"show and input", []string{"-ckpt", runDir, "-show", "2", "-input", "a"}, "-show prints examples with their targets; -input has none"},
		{"show and predict", []string{"-ckpt", runDir, "-show", "2", "-predict", good}, "-predict has none"},
		{"count and input", []string{"-ckpt", runDir, "-n", "2", "-input", "a"}, "-n counts examples to evaluate; it does not apply to -input"},
		{"count and predict", []string{"-ckpt", runDir, "-n", "2", "-predict", good}, "it does not apply to -predict"},
		{"attention and predict", []string{"-ckpt", runDir, "-attention", "-predict", good}, "need -input"},
		{"which with one checkpoint", []string{"-ckpt", steps[0], "-which", "latest"}, "-which chooses among the checkpoints of a run directory"},

		// Bad inputs.
		{"reserved token in -input", []string{"-ckpt", runDir, "-input", "a <unk>"}, `-input: token "<unk>" is reserved`},
		{"missing -predict file", []string{"-ckpt", runDir, "-predict", filepath.Join(in, "none.txt")}, "none.txt: no such file or directory"},
		{"invalid UTF-8", []string{"-ckpt", runDir, "-predict", utf}, "utf.txt:2: invalid UTF-8 at byte 3"},
		{"NUL byte", []string{"-ckpt", runDir, "-predict", nul}, "nul.txt:1: NUL byte"},
		{"only comments", []string{"-ckpt", runDir, "-predict", comments}, "comments.txt: no inputs"},
		{"reserved token in a file", []string{"-ckpt", runDir, "-predict", reserved}, `reserved.txt:3: token "<pad>" is reserved`},

		// Too long for memory: one line, not a crash.
		{"length too long for memory", []string{"-ckpt", runDir, "-len", "100000", "-n", "1"}, "-len 100000: train: evaluate: a sequence of length 100000 needs about"},
		{"line too long for memory", []string{"-ckpt", runDir, "-predict", huge}, "huge.txt:2: train: evaluate: a sequence of length 30000 needs about"},

		// The user's picture path, not renameio's temporary file.
		{"picture in a missing directory", []string{"-ckpt", runDir, "-input", "a b", "-attention-png", noDir},
			"eval: -attention-png " + noDir + ": no such directory " + filepath.Dir(noDir) + "\n"},
		{"picture that is a directory", []string{"-ckpt", runDir, "-input", "a b", "-attention-png", empty}, "-attention-png " + empty + ": is a directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runEval(t, tt.args...)
			if r.code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n"); len(lines) != 1 {
				t.Errorf("stderr has %d lines, want exactly one:\n%s", len(lines), r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "eval: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want \"eval: …\" containing %q", r.stderr, tt.want)
			}

			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if want := strings.TrimSuffix(strings.TrimPrefix(tt.want, "eval: "), "\n"); err == nil || errors.Is(err, flag.ErrHelp) || !strings.Contains(err.Error(), want) {
				t.Errorf("run: error %v, want one containing %q", err, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("run printed %q on stdout, want nothing", stdout.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	r := runEval(t, "-h")
	if r.code != 0 {
		t.Errorf("-h: exit %d, want 0", r.code)
	}
	if r.stdout != "" || strings.Count(r.stderr, "usage: eval") != 1 || !strings.Contains(r.stderr, "-ckpt dir") {
		t.Errorf("-h: stdout %q, want nothing; stderr, want the usage once:\n%s", r.stdout, r.stderr)
	}
}

// decodeJSON checks that stdout is one line holding one JSON object and
// decodes it.
func decodeJSON(t *testing.T, stdout string) report {
	t.Helper()
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("-json: stdout is not one line:\n%s", stdout)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var rep report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("-json: %v:\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("-json: more than one JSON value on stdout:\n%s", stdout)
	}
	return rep
}

// logged returns the metrics.jsonl line of step that holds key.
func logged(t *testing.T, dir string, step int, key string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics.jsonl: %v", err)
		}
		if _, ok := m[key]; ok && m["step"] == float64(step) {
			return m
		}
	}
	t.Fatalf("metrics.jsonl has no %s line for step %d", key, step)
	return nil
}

// TestJSON checks that -json prints one object and nothing else on stdout,
// and that cmd/eval computes exactly the numbers training logged: the
// validation metrics of the final checkpoint and the test metrics of the
// best.
func TestJSON(t *testing.T) {
	cfg := runConfig(runDir)
	r := mustEval(t, "-ckpt", runDir, "-split", "val", "-which", "latest", "-json")
	rep := decodeJSON(t, r.stdout)
	if rep.Step != cfg.Steps || rep.Task != "copy" || rep.Split != "val" || rep.Metrics == nil {
		t.Fatalf("-json: step %d, task %q, split %q, metrics %v; want %d, copy, val and metrics", rep.Step, rep.Task, rep.Split, rep.Metrics, cfg.Steps)
	}
	if rep.Metrics.Examples != cfg.ValExamples {
		t.Errorf("-json: %d examples, want the %d of the val split", rep.Metrics.Examples, cfg.ValExamples)
	}
	want := logged(t, runDir, rep.Step, "eval_loss")
	for _, c := range []struct {
		key string
		got float64
	}{
		{"eval_loss", rep.Metrics.Loss},
		{"eval_token_accuracy", rep.Metrics.TokenAccuracy},
		{"eval_sequence_accuracy", rep.Metrics.SequenceAccuracy},
	} {
		if c.got != want[c.key] {
			t.Errorf("-split val -which latest: %s %v, metrics.jsonl logged %v at step %d", c.key, c.got, want[c.key], rep.Step)
		}
	}

	// The default, the best checkpoint's test split, is what training
	// reported as its held-out result.
	rep = decodeJSON(t, mustEval(t, "-ckpt", runDir, "-json").stdout)
	test := logged(t, runDir, cfg.Steps, "test_loss")
	if float64(rep.Step) != test["best_step"] {
		t.Errorf("-json: best checkpoint is step %d, training tested step %v", rep.Step, test["best_step"])
	}
	if rep.Metrics.Loss != test["test_loss"] || rep.Metrics.TokenAccuracy != test["test_token_accuracy"] || rep.Metrics.SequenceAccuracy != test["test_sequence_accuracy"] {
		t.Errorf("-json test metrics %+v, metrics.jsonl logged %v", *rep.Metrics, test)
	}

	// With examples and with a single input: still one line.
	if rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-json", "-show", "2").stdout); len(rep.Examples) != 2 {
		t.Errorf("-json -show 2: %d examples, want 2", len(rep.Examples))
	}
	r = mustEval(t, "-ckpt", runDir, "-json", "-input", "a b c", "-attention")
	rep = decodeJSON(t, r.stdout)
	if rep.Prediction == nil || len(rep.Prediction.Predicted) != 3 || len(rep.Attention) != cfg.Layers || len(rep.Attention[0]) != cfg.Heads {
		t.Errorf("-json -input -attention: prediction %v, attention of %d layers; want 3 tokens, %d layers of %d heads", rep.Prediction, len(rep.Attention), cfg.Layers, cfg.Heads)
	}
}

var block = regexp.MustCompile(`(?m)^(ok|WRONG)\n  input:     (.*)\n  target:    (.*)\n  predicted: (.*)$`)

// TestShow checks that -show prints the examples, each marked ok or WRONG
// as its prediction matches the target, wrong tokens bracketed.
func TestShow(t *testing.T) {
	r := mustEval(t, "-ckpt", runDir, "-show", "3", "-split", "val")
	if !strings.Contains(r.stdout, "val: 50 examples") {
		t.Errorf("-show 3: no summary of the val split:\n%s", r.stdout)
	}
	blocks := block.FindAllStringSubmatch(r.stdout, -1)
	if len(blocks) != 3 {
		t.Fatalf("-show 3: %d marked examples, want 3:\n%s", len(blocks), r.stdout)
	}
	// All of val, to meet both marks.
	r = mustEval(t, "-ckpt", runDir, "-show", "50", "-split", "val")
	blocks = block.FindAllStringSubmatch(r.stdout, -1)
	marks := map[string]int{}
	for _, b := range blocks {
		marks[b[1]]++
	}
	if len(blocks) != 50 || marks["ok"] == 0 || marks["WRONG"] == 0 {
		t.Errorf("-show 50: %d examples marked %v, want 50 of both marks", len(blocks), marks)
	}
	for _, b := range blocks {
		mark, input, target, predicted := b[1], b[2], b[3], b[4]
		plain := strings.NewReplacer("[", "", "]", "").Replace(predicted)
		if len(strings.Fields(plain)) != len(strings.Fields(input)) {
			t.Errorf("example %q: predicted %q, want a token per input token", input, predicted)
		}
		switch right := plain == target; {
		case right && (mark != "ok" || strings.Contains(predicted, "[")):
			t.Errorf("example %q: right prediction %q marked %s", input, predicted, mark)
		case !right && (mark != "WRONG" || !strings.Contains(predicted, "[")):
			t.Errorf("example %q: wrong prediction %q (target %q) marked %s, without every error bracketed", input, predicted, target, mark)
		}
	}
}

// TestInput checks -input: a prediction per token, and unknown tokens
// reported on stderr, not a crash.
func TestInput(t *testing.T) {
	r := mustEval(t, "-ckpt", runDir, "-input", "a b c")
	m := regexp.MustCompile(`(?m)^input:     a b c\npredicted: (\S+ \S+ \S+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Errorf("-input \"a b c\": no prediction of three tokens:\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("-input \"a b c\": stderr %q, want nothing", r.stderr)
	}

	r = mustEval(t, "-ckpt", runDir, "-input", "a zz c")
	if !strings.Contains(r.stdout, "input:     a <unk> c\npredicted: ") {
		t.Errorf("-input \"a zz c\": stdout does not show the unknown token read as <unk>:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "1 unknown token(s) in -input") {
		t.Errorf("-input \"a zz c\": stderr %q, want it to report the unknown token", r.stderr)
	}
	rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-input", "a zz c", "-json").stdout)
	if rep.Unknown != 1 {
		t.Errorf("-input \"a zz c\" -json: unknown_tokens %d, want 1", rep.Unknown)
	}

	// In process, the report goes to the stderr run is given.
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-ckpt", runDir, "-input", "zz"}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "1 unknown token(s)") {
		t.Errorf("run: stderr %q, want the unknown token reported there", stderr.String())
	}

	r = mustEval(t, "-ckpt", runDir, "-input", "a b c", "-attention")
	if n := strings.Count(r.stdout, "(rows: queries, columns: keys)"); n != 2 {
		t.Errorf("-attention: %d attention maps, want 2 (1 layer × 2 heads):\n%s", n, r.stdout)
	}
}

// TestLength checks -len above the training lengths.
func TestLength(t *testing.T) {
	r := mustEval(t, "-ckpt", runDir, "-len", "8")
	if !strings.Contains(r.stdout, "test of length 8: 50 examples, 400 targets") {
		t.Errorf("-len 8: stdout does not report 50 examples of 8 targets:\n%s", r.stdout)
	}
	rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-len", "9", "-n", "7", "-json").stdout)
	if rep.Length != 9 || rep.Metrics.Examples != 7 || rep.Metrics.Targets != 63 || len(rep.Metrics.PositionAccuracy) != 9 {
		t.Errorf("-len 9 -n 7: length %d, %d examples, %d targets, %d positions; want 9, 7, 63, 9", rep.Length, rep.Metrics.Examples, rep.Metrics.Targets, len(rep.Metrics.PositionAccuracy))
	}
}

// TestDataFile checks -data: a TSV in the training format, its tokens
// unknown to the checkpoint counted.
func TestDataFile(t *testing.T) {
	path, err := filepath.Abs(filepath.Join("testdata", "copy.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	r := mustEval(t, "-ckpt", runDir, "-data", path)
	for _, want := range []string{path + ": 5 examples, 15 targets", "unknown tokens (read as <unk>): 2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-data: stdout does not contain %q:\n%s", want, r.stdout)
		}
	}
	rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-data", path, "-json", "-n", "4").stdout)
	if rep.Unknown != 2 || rep.Metrics.Examples != 4 || rep.Split != path {
		t.Errorf("-data -json -n 4: unknown %d, %d examples, split %q; want 2, 4, %q", rep.Unknown, rep.Metrics.Examples, rep.Split, path)
	}
}

// TestDamagedBest checks that a corrupted best checkpoint is reported and
// skipped for the newest good one.
func TestDamagedBest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dir, os.DirFS(runDir)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "best.json"))
	if err != nil {
		t.Fatal(err)
	}
	var best struct{ Step int }
	if err := json.Unmarshal(b, &best); err != nil {
		t.Fatal(err)
	}
	bestDir := filepath.Join(dir, fmt.Sprintf("step-%08d", best.Step))
	weights := filepath.Join(bestDir, "model.safetensors")
	w, err := os.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	w[len(w)/2] ^= 0x40
	writeFile(t, weights, string(w))

	r := mustEval(t, "-ckpt", dir)
	if !strings.Contains(r.stderr, "best checkpoint is damaged") || !strings.Contains(r.stderr, weights) {
		t.Errorf("stderr does not report the damaged best checkpoint %s:\n%s", weights, r.stderr)
	}
	m := regexp.MustCompile(`^checkpoint (\S+) \(step (\d+)\)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("stdout does not name the checkpoint evaluated:\n%s", r.stdout)
	}
	steps, _ := filepath.Glob(filepath.Join(dir, "step-*"))
	slices.Sort(steps)
	newestGood := steps[len(steps)-1]
	if newestGood == bestDir {
		newestGood = steps[len(steps)-2]
	}
	if m[1] != newestGood {
		t.Errorf("evaluated %s, want the newest good checkpoint %s", m[1], newestGood)
	}
	if !strings.Contains(r.stdout, "test: 50 examples") {
		t.Errorf("no evaluation after the fallback:\n%s", r.stdout)
	}
}

// TestAttentionPNG: -attention-png draws one heat map per head into a PNG
// that decodes, and a path it cannot write is an error, not a crash.
func TestAttentionPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attention.png")
	mustEval(t, "-ckpt", runDir, "-input", "a b c d", "-attention-png", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() <= b.Dy() {
		t.Errorf("picture %v: want two heads side by side (wider than tall)", b)
	}
	// Unwritable paths: TestBadInput.
}

// TestAttentionPNGUnwritable: a picture that cannot be written is
// reported with the user's path, not the name of renameio's temporary file
// beside it. A name just short of the file system's limit fails where the
// temporary file's longer name is made, as root too (CI runs as root,
// which a read-only directory does not stop); the read-only directory is
// tried as well where it stops the writer.
func TestAttentionPNGUnwritable(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("a", 251)+".png") // 255 bytes: a name the file system takes
	r := runEval(t, "-ckpt", runDir, "-input", "a b", "-attention-png", long)
	if want := "eval: -attention-png " + long + ": file name too long\n"; r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Errorf("name at the limit: exit %d, stdout %q, stderr %q; want 2, nothing and %q", r.code, r.stdout, r.stderr, want)
	}
	if _, err := os.Stat(long); err == nil {
		t.Errorf("%s was written", long)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in the directory: %v", entries)
	}

	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if f, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		f.Close()
		os.Remove(f.Name())
		return // root: permissions do not stop it; the name above did
	}
	path := filepath.Join(dir, "x.png")
	r = runEval(t, "-ckpt", runDir, "-input", "a b", "-attention-png", path)
	if want := "eval: -attention-png " + path + ": permission denied\n"; r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Errorf("read-only directory: exit %d, stdout %q, stderr %q; want 2, nothing and %q", r.code, r.stdout, r.stderr, want)
	}
}

// runEvalStdin runs the binary with stdin read from in.
func runEvalStdin(t *testing.T, in string, args ...string) result {
	t.Helper()
	cmd := exec.Command(evalBin, args...)
	cmd.Stdin = strings.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("eval %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// TestPredictFile: -predict writes exactly one line per line of the file
// that is not a comment, in order, "input TAB prediction", a token
// predicted per input token; a blank line gets a blank line; a target
// after a TAB, a byte order mark and CRLF endings change nothing; unknown
// tokens are counted on stderr; each prediction equals -input's for the
// same sequence.
func TestPredictFile(t *testing.T) {
	content := "\uFEFF# inputs\r\na b c\r\n\r\nc\tc\r\n# more\r\nb zz a d\r\na b c d e f\r\n"
	path := writeFile(t, filepath.Join(t.TempDir(), "in.txt"), content)
	wantInputs := []string{"a b c", "", "c", "b zz a d", "a b c d e f"}
	r := mustEval(t, "-ckpt", runDir, "-predict", path)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(wantInputs) || !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("-predict: %d lines, want %d (a line per line that is not a comment):\n%s", len(lines), len(wantInputs), r.stdout)
	}
	for i, line := range lines {
		want := wantInputs[i]
		if want == "" {
			if line != "" {
				t.Errorf("line %d: %q, want a blank line for a blank input", i+1, line)
			}
			continue
		}
		input, pred, ok := strings.Cut(line, "\t")
		if !ok || input != want || len(strings.Fields(pred)) != len(strings.Fields(want)) || strings.Contains(pred, "<") {
			t.Errorf("line %d: %q, want %q, a TAB and %d predicted tokens (no specials)", i+1, line, want, len(strings.Fields(want)))
			continue
		}
		one := mustEval(t, "-ckpt", runDir, "-input", want)
		if !strings.Contains(one.stdout, "\npredicted: "+pred+"\n") {
			t.Errorf("line %d: -predict %q, but -input %q predicts:\n%s", i+1, pred, want, one.stdout)
		}
	}
	if want := "eval: " + path + ": 1 unknown token(s) read as <unk>: zz (line 6)\n"; r.stderr != want {
		t.Errorf("-predict: stderr %q, want %q", r.stderr, want)
	}

	// -json: the same predictions, one per line that is not a comment.
	rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-predict", path, "-json").stdout)
	if rep.Inputs != path || rep.Unknown != 1 || len(rep.Predictions) != len(wantInputs) || rep.Metrics != nil {
		t.Fatalf("-predict -json: inputs %q, unknown %d, %d predictions, metrics %v; want %q, 1, %d, none", rep.Inputs, rep.Unknown, len(rep.Predictions), rep.Metrics, path, len(wantInputs))
	}
	for i, p := range rep.Predictions {
		_, pred, _ := strings.Cut(lines[i], "\t")
		if strings.Join(p.Input, " ") != wantInputs[i] || strings.Join(p.Predicted, " ") != pred || p.Input == nil || p.Predicted == nil {
			t.Errorf("-json prediction %d: %+v, want input %q predicted %q", i, p, wantInputs[i], pred)
		}
	}

	// stdin, for a pipe.
	r2 := runEvalStdin(t, content, "-ckpt", runDir, "-predict", "-")
	if r2.code != 0 || r2.stdout != r.stdout || !strings.Contains(r2.stderr, "eval: stdin: 1 unknown token(s)") {
		t.Errorf("-predict - (stdin): exit %d, stdout %q, stderr %q; want 0, the file's output and its unknown token", r2.code, r2.stdout, r2.stderr)
	}
}

// TestPredictMany: a file of more lines than one evaluation batch holds
// comes out whole and in order.
func TestPredictMany(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := range 600 {
		line := strings.Repeat(string(rune('a'+i%4))+" ", 1+i%6)
		want = append(want, strings.TrimSpace(line))
		fmt.Fprintln(&b, line)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "many.txt"), b.String())
	r := mustEval(t, "-ckpt", runDir, "-predict", path)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("-predict: %d lines for %d inputs", len(lines), len(want))
	}
	for i, line := range lines {
		if input, _, _ := strings.Cut(line, "\t"); input != want[i] {
			t.Fatalf("line %d: input %q, want %q", i+1, input, want[i])
		}
	}
}

// TestWriteError: results that cannot be written (stdout on a full disk)
// are an error, exit status 2, not a silent success.
func TestWriteError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	good := writeFile(t, filepath.Join(t.TempDir(), "in.txt"), "a b\n")
	for _, args := range [][]string{
		{"-ckpt", runDir},
		{"-ckpt", runDir, "-json"},
		{"-ckpt", runDir, "-input", "a b"},
		{"-ckpt", runDir, "-predict", good},
	} {
		cmd := exec.Command(evalBin, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &stderr
		_ = cmd.Run()
		want := "eval: writing the results: write /dev/stdout: no space left on device\n"
		if code := cmd.ProcessState.ExitCode(); code != 2 || stderr.String() != want {
			t.Errorf("eval %s > /dev/full: exit %d, stderr %q; want 2 and %q", strings.Join(args, " "), code, stderr.String(), want)
		}
	}
	// In process: any writer's error.
	err = run(context.Background(), []string{"-ckpt", runDir}, strings.NewReader(""), failingWriter{}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "writing the results: disk on fire") {
		t.Errorf("run with a failing stdout: %v, want the write error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestHeatmapWriteError: when writing the picture itself fails (past the
// checks on its directory), the error names the user's path alone.
func TestHeatmapWriteError(t *testing.T) {
	att := [][][][]float64{{{{1, 0}, {0.5, 0.5}}}}
	for _, path := range []string{"/proc/qkv-attention.png", "/sys/qkv-attention.png"} {
		png, err := drawHeatmaps(path, att, []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		if err = writePicture(path, png); err == nil {
			t.Errorf("writePicture(%s) succeeded", path)
			os.Remove(path)
			continue
		}
		msg := err.Error()
		prefix := "-attention-png " + path + ": "
		if !strings.HasPrefix(msg, prefix) || strings.Count(msg, "/") != strings.Count(path, "/") {
			t.Errorf("writePicture(%s): %q, want %q and the reason, no other path", path, msg, prefix)
		}
	}
}

// TestPredictRefusesWhatDataRefuses: a -predict file is read by the rules
// of a data file: lone \r endings (which joined three lines into one) and
// whitespace other than the ASCII space (a no-break space split a token
// where none shows) are refused as file:line with exit 2, and so is such
// whitespace in -input.
func TestPredictRefusesWhatDataRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, content, want string }{
		{"lone CR", "a b\rc\rb a\r", ":1: carriage return at byte 4"},
		{"NBSP", "a b\nb\u00a0a\n", ":2: whitespace U+00A0 at byte 2"},
	} {
		path := writeFile(t, filepath.Join(dir, c.name+".txt"), c.content)
		r := runEval(t, "-ckpt", runDir, "-predict", path)
		if want := "eval: data: " + path + c.want; r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: -predict: exit %d, stdout %q, stderr %q; want 2, nothing, one line starting %q", c.name, r.code, r.stdout, r.stderr, want)
		}
	}
	r := runEval(t, "-ckpt", runDir, "-input", "a\u2003b")
	if want := "eval: -input: data: whitespace U+2003 at byte 2"; r.code != 2 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("-input with an em space: exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
	}
}

// TestErrorPrefixOnce: an error from the train package read "eval: train:
// …", as if the train command had failed; the line names eval once.
func TestErrorPrefixOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-run")
	r := runEval(t, "-ckpt", missing)
	if r.code != 2 || !strings.HasPrefix(r.stderr, "eval: "+missing) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("-ckpt %s: exit %d, stderr %q; want 2 and one line \"eval: %s: …\"", missing, r.code, r.stderr, missing)
	}
}
