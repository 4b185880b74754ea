package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/internal/explore"
	"github.com/qkv-dev/qkv/train"
)

// readPage reads the data a written explorer page carries.
func readPage(t *testing.T, path string) explore.Page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<script id="qkv-data" type="application/json">(.*)</script>`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s holds no data element", path)
	}
	var p explore.Page
	if err := json.Unmarshal(m[1], &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExplore: -explore writes the page for held-out examples (with the
// run's history and the heads' alignment as -json reports it) or for each
// -input, and says so on stdout.
func TestExplore(t *testing.T) {
	out := filepath.Join(t.TempDir(), "page.html")
	r := mustEval(t, "-ckpt", runDir, "-explore", out)
	if !strings.HasPrefix(r.stdout, "wrote "+out) || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	p := readPage(t, out)
	rep := decodeJSON(t, mustEval(t, "-ckpt", runDir, "-json").stdout)
	if p.Step != rep.Step || p.Alignment == nil || rep.Alignment == nil || p.Alignment.Scores[0][1] != rep.Alignment.Scores[0][1] {
		t.Errorf("page step %d alignment %+v; -json step %d alignment %+v", p.Step, p.Alignment, rep.Step, rep.Alignment)
	}
	wrong := 0
	for _, e := range p.Examples {
		if e.Correct != nil && !*e.Correct {
			wrong++
		}
	}
	if p.History == nil || len(p.History.Steps) != 12 || wrong == 0 || len(p.Examples) != explore.Shown+4 {
		t.Errorf("history %v, %d examples, %d wrong; want 12 steps, %d examples, some wrong", p.History, len(p.Examples), wrong, explore.Shown+4)
	}

	r = mustEval(t, "-ckpt", runDir, "-explore", out, "-input", "a b c", "-input", "d e")
	p = readPage(t, out)
	if len(p.Examples) != 2+4 || strings.Join(p.Examples[1].Tokens, " ") != "d e" || p.Examples[0].Correct != nil {
		t.Errorf("-input twice: examples %+v", p.Examples)
	}
}

// TestExploreBadInput: -explore's flag rules, and a path it cannot write:
// exit 2, one line, no file left.
func TestExploreBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "page.html")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-ckpt", runDir, "-explore", ""}, "-explore is empty"},
		{[]string{"-ckpt", runDir, "-explore", out, "-json"}, "does not take -json"},
		{[]string{"-ckpt", runDir, "-explore", out, "-split", "val"}, "does not take -split"},
		{[]string{"-ckpt", runDir, "-explore", out, "-input", " "}, "-input has no tokens"},
		{[]string{"-ckpt", runDir, "-explore", out, "-input", "a <pad>"}, "reserved"},
		{[]string{"-ckpt", runDir, "-input", "a", "-input", "b"}, "give -input once"},
		{[]string{"-ckpt", runDir, "-explore", filepath.Join(dir, "no", "page.html")}, "no such directory"},
		{[]string{"-ckpt", runDir, "-explore", dir}, "is a directory"},
		{[]string{"-ckpt", filepath.Join(dir, "none"), "-explore", out}, "none"},
	} {
		r := runEval(t, tt.args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("eval %q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("eval %q left %s", tt.args, out)
		}
	}
}

// TestExploreOldRun: a run made before runs recorded their probes opens,
// without history.
func TestExploreOldRun(t *testing.T) {
	dir := copyRun(t)
	if err := os.Remove(filepath.Join(dir, train.ProbesFile)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "page.html")
	r := mustEval(t, "-ckpt", dir, "-explore", out)
	if p := readPage(t, out); p.History != nil || len(p.Examples) != explore.Shown || !strings.Contains(r.stdout, "no training history") {
		t.Errorf("old run: history %v, %d examples, stdout %q", p.History, len(p.Examples), r.stdout)
	}
}

// TestExploreLSTM: an LSTM's page holds its gradient saliency, recorded
// in training too.
func TestExploreLSTM(t *testing.T) {
	cfg := runConfig(filepath.Join(t.TempDir(), "lstm"))
	cfg.Model = train.LSTM
	cfg.Steps, cfg.EvalEvery, cfg.SaveEvery, cfg.LogEvery = 10, 5, 10, 5
	dir := trainRun(t, cfg)
	out := filepath.Join(t.TempDir(), "page.html")
	mustEval(t, "-ckpt", dir, "-explore", out, "-input", "a b c")
	p := readPage(t, out)
	if p.Kind != train.ProbeSaliency || p.Layers != 1 || p.Heads != 1 || p.Alignment != nil || p.History == nil || len(p.History.Steps) != 2 || p.Examples[0].Q != "" {
		t.Errorf("LSTM page: kind %s, %d×%d, alignment %v, history %v", p.Kind, p.Layers, p.Heads, p.Alignment, p.History)
	}
}
