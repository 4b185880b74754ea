package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/train"
)

// trainRun trains cfg from scratch and fails the test if it does not
// finish.
func trainRun(t *testing.T, cfg train.Config) string {
	t.Helper()
	tr, err := train.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatalf("training %s: %v", cfg.Out, err)
	}
	return cfg.Out
}

// checkAlignment checks a report's alignment against its metrics: on copy
// every counted target is scored, each example of n tokens adds n
// positions whose chance is 1/n, so the chance is examples/targets.
func checkAlignment(t *testing.T, what string, rep report, layers, heads int) {
	t.Helper()
	al, m := rep.Alignment, rep.Metrics
	if al == nil || m == nil {
		t.Fatalf("%s: alignment %v, metrics %v; want both", what, al, m)
	}
	if len(al.Scores) != layers || slices.ContainsFunc(al.Scores, func(r []float64) bool { return len(r) != heads }) {
		t.Fatalf("%s: scores %v, want [%d layers][%d heads]", what, al.Scores, layers, heads)
	}
	if al.Positions != m.Targets {
		t.Errorf("%s: %d positions scored, want every one of the %d targets evaluated", what, al.Positions, m.Targets)
	}
	if want := float64(m.Examples) / float64(m.Targets); math.Abs(al.Chance-want) > 1e-12 {
		t.Errorf("%s: chance %v, want the mean 1/n, %d examples / %d targets = %v", what, al.Chance, m.Examples, m.Targets, want)
	}
	best := headScore{-1, -1, math.Inf(-1)}
	for l, row := range al.Scores {
		for h, s := range row {
			if s < 0 || s > 1 || math.IsNaN(s) {
				t.Errorf("%s: layer %d head %d scores %v, outside [0, 1]", what, l, h, s)
			}
			if s > best.Score {
				best = headScore{l, h, s}
			}
		}
	}
	if al.Best != best {
		t.Errorf("%s: best %+v, want the argmax %+v", what, al.Best, best)
	}
}

var bestLine = regexp.MustCompile(`(?m)^best head: layer (\d+) head (\d+), (\d\.\d\d) \(chance (\d\.\d\d)\)$`)

// TestAlignment: evaluating a split of copy scores every head, over the
// examples evaluated (-n, -len), in JSON and as a table in text.
func TestAlignment(t *testing.T) {
	cfg := runConfig(runDir)
	rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-json").stdout)
	checkAlignment(t, "test split", rep, cfg.Layers, cfg.Heads)
	if rep.Metrics.Examples != cfg.TestExamples {
		t.Errorf("test split: %d examples, want %d", rep.Metrics.Examples, cfg.TestExamples)
	}

	few := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-json", "-n", "7", "-split", "val").stdout)
	checkAlignment(t, "-n 7 -split val", few, cfg.Layers, cfg.Heads)
	if few.Metrics.Examples != 7 {
		t.Errorf("-n 7: %d examples", few.Metrics.Examples)
	}
	long := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-json", "-len", "9", "-n", "5").stdout)
	checkAlignment(t, "-len 9", long, cfg.Layers, cfg.Heads)
	if math.Abs(long.Alignment.Chance-1.0/9) > 1e-12 {
		t.Errorf("-len 9: chance %v, want 1/9", long.Alignment.Chance)
	}

	// Text: a row per layer, a column per head, and the best head named
	// with the JSON's numbers.
	r := mustEval(t, "-ckpt", runDir)
	m := bestLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("text: no best-head line:\n%s", r.stdout)
	}
	b := rep.Alignment.Best
	if want := []string{fmt.Sprint(b.Layer), fmt.Sprint(b.Head), fmt.Sprintf("%.2f", b.Score), fmt.Sprintf("%.2f", rep.Alignment.Chance)}; !slices.Equal(m[1:], want) {
		t.Errorf("text: best head %q, want %q", m[1:], want)
	}
	table := regexp.MustCompile(`(?m)^\s+head 0\s+head 1\n\s+layer 0\s+(\d\.\d\d)\s+(\d\.\d\d)\n`).FindStringSubmatch(r.stdout)
	if table == nil {
		t.Fatalf("text: no table of 1 layer × 2 heads:\n%s", r.stdout)
	}
	for h, s := range table[1:] {
		if want := fmt.Sprintf("%.2f", rep.Alignment.Scores[0][h]); s != want {
			t.Errorf("text: layer 0 head %d %s, JSON %s", h, s, want)
		}
	}

	// -data: a file is no split of the task; no alignment.
	path, err := filepath.Abs(filepath.Join("testdata", "copy.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-data", path, "-json").stdout); rep.Alignment != nil {
		t.Errorf("-data: alignment %+v, want none", rep.Alignment)
	}
}

// TestNoAlignment: a classification task has no alignment rule, and a file
// run no task: both evaluate as before, without scores and without a word
// about them.
func TestNoAlignment(t *testing.T) {
	parity, err := train.Preset("parity")
	if err != nil {
		t.Fatal(err)
	}
	file := runConfig("")
	file.Task, file.Data, file.Len = "", writeReversals(t, 60), 0
	for _, c := range []struct {
		name string
		cfg  train.Config
	}{{"parity", parity}, {"file", file}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.DModel, cfg.Heads, cfg.Layers, cfg.DFF = 16, 2, 1, 32
			cfg.Batch, cfg.ValExamples, cfg.TestExamples, cfg.Warmup = 8, 20, 20, 2
			cfg.Steps, cfg.EvalEvery, cfg.SaveEvery, cfg.LogEvery = 10, 10, 10, 5
			cfg.Out = filepath.Join(t.TempDir(), c.name)
			dir := trainRun(t, cfg)
			r := mustEval(t, "-ckpt", dir, "-json")
			rep := decodeJSON(t, r.stdout)
			if rep.Metrics == nil || rep.Metrics.Examples == 0 || rep.Alignment != nil || strings.Contains(r.stdout, "alignment") {
				t.Errorf("-json: metrics %+v, alignment %+v; want metrics and no alignment:\n%s", rep.Metrics, rep.Alignment, r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			if r := mustEval(t, "-ckpt", dir); strings.Contains(r.stdout, "alignment") || strings.Contains(r.stdout, "best head") {
				t.Errorf("text reports alignment:\n%s", r.stdout)
			}
		})
	}
}

// writeReversals writes n examples of reversing 2 to 7 words, a data
// file for a file run.
func writeReversals(t *testing.T, n int) string {
	t.Helper()
	words := []string{"ant", "bee", "cat", "dog", "eel", "fox"}
	rng := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	for range n {
		in := make([]string, 2+rng.IntN(6))
		for i := range in {
			in[i] = words[rng.IntN(len(words))]
		}
		out := slices.Clone(in)
		slices.Reverse(out)
		fmt.Fprintf(&b, "%s\t%s\n", strings.Join(in, " "), strings.Join(out, " "))
	}
	path := filepath.Join(t.TempDir(), "reverse.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNoAlignmentLSTM: a model without attention evaluates a split of a
// task with an alignment rule as before, without scores.
func TestNoAlignmentLSTM(t *testing.T) {
	cfg := runConfig(filepath.Join(t.TempDir(), "lstm"))
	cfg.Model = train.LSTM
	cfg.Steps, cfg.EvalEvery, cfg.SaveEvery, cfg.LogEvery = 10, 10, 10, 5
	dir := trainRun(t, cfg)
	r := mustEval(t, "-ckpt", dir, "-json")
	rep := decodeJSON(t, r.stdout)
	if rep.Metrics == nil || rep.Metrics.Examples != cfg.TestExamples || rep.Alignment != nil || r.stderr != "" {
		t.Errorf("LSTM -json: metrics %+v, alignment %+v, stderr %q; want metrics of %d examples, no alignment, nothing on stderr", rep.Metrics, rep.Alignment, r.stderr, cfg.TestExamples)
	}
	if r := mustEval(t, "-ckpt", dir); strings.Contains(r.stdout, "alignment") {
		t.Errorf("LSTM text reports alignment:\n%s", r.stdout)
	}
}
