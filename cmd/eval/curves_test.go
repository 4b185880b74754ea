package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodesPNG fails unless path holds a PNG.
func decodesPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// copyRun copies the shared run into a new directory and returns it.
func copyRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dir, os.DirFS(runDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCurves: a finished run already holds its curves.png; -curves redraws
// it, -o writes elsewhere, and neither needs more than metrics.jsonl: a
// stopped run (no test line, a torn last line) and a run whose every
// checkpoint is damaged redraw all the same.
func TestCurves(t *testing.T) {
	decodesPNG(t, filepath.Join(runDir, "curves.png")) // drawn by training

	dir := copyRun(t)
	pic := filepath.Join(dir, "curves.png")
	if err := os.Remove(pic); err != nil {
		t.Fatal(err)
	}
	r := mustEval(t, "-curves", dir)
	if r.stdout != "wrote "+pic+"\n" || r.stderr != "" {
		t.Errorf("-curves: stdout %q, stderr %q; want %q and nothing", r.stdout, r.stderr, "wrote "+pic+"\n")
	}
	decodesPNG(t, pic)

	other := filepath.Join(t.TempDir(), "elsewhere.png")
	if err := os.Remove(pic); err != nil {
		t.Fatal(err)
	}
	if r := mustEval(t, "-curves", dir, "-o", other); r.stdout != "wrote "+other+"\n" {
		t.Errorf("-curves -o: stdout %q", r.stdout)
	}
	decodesPNG(t, other)
	if _, err := os.Stat(pic); err == nil {
		t.Errorf("-curves -o %s also wrote %s", other, pic)
	}

	// Stopped: the test line never came and the last line is torn.
	metrics := filepath.Join(dir, "metrics.jsonl")
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	stopped := strings.Join(lines[:len(lines)/2], "\n") + "\n" + lines[len(lines)/2][:10]
	writeFile(t, metrics, stopped)
	mustEval(t, "-curves", dir)
	decodesPNG(t, pic)

	// Every checkpoint damaged: nothing to evaluate, curves all the same.
	steps, _ := filepath.Glob(filepath.Join(dir, "step-*"))
	for _, s := range steps {
		writeFile(t, filepath.Join(s, "model.safetensors"), "damaged")
	}
	if r := runEval(t, "-ckpt", dir); r.code != 2 {
		t.Fatalf("-ckpt with every checkpoint damaged: exit %d, want 2", r.code)
	}
	if err := os.Remove(pic); err != nil {
		t.Fatal(err)
	}
	mustEval(t, "-curves", dir)
	decodesPNG(t, pic)

	// In process, stdout alone gets the line.
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-curves", dir, "-o", other}, strings.NewReader(""), &stdout, &stderr); err != nil || stdout.String() != "wrote "+other+"\n" || stderr.Len() > 0 {
		t.Errorf("run -curves: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// TestCurvesNotARun: -curves on a directory that is no run's — a
// metrics.jsonl and a curves.png of someone else's — does not replace its
// curves.png; -o draws it elsewhere.
func TestCurvesNotARun(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(runDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "metrics.jsonl"), string(b))
	mine := writeFile(t, filepath.Join(dir, "curves.png"), "my own picture")
	r := runEval(t, "-curves", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "holds no qkv run") {
		t.Errorf("-curves on no run: exit %d, stderr %q; want 2, holds no qkv run", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(mine); string(b) != "my own picture" {
		t.Errorf("-curves replaced %s", mine)
	}
	other := filepath.Join(t.TempDir(), "x.png")
	mustEval(t, "-curves", dir, "-o", other)
	decodesPNG(t, other)
}

// TestCurvesBadInput: -curves with a flag it would ignore, -o without
// -curves, and paths it cannot use exit 2 with one line naming the user's
// path.
func TestCurvesBadInput(t *testing.T) {
	in := t.TempDir()
	empty := t.TempDir()
	file := writeFile(t, filepath.Join(in, "file.txt"), "x\n")
	emptyRun := t.TempDir() // a run that logged nothing yet
	writeFile(t, filepath.Join(emptyRun, "qkv-run.json"), `{"qkv":"run directory","format":1}`+"\n")
	dirPNG := filepath.Join(copyRun(t), "curves.png")
	if err := os.Remove(dirPNG); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dirPNG, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"with -ckpt", []string{"-curves", runDir, "-ckpt", runDir}, "-curves redraws a run's curves from its metrics alone; it does not take -ckpt"},
		{"with -json", []string{"-curves", runDir, "-json"}, "it does not take -json"},
		{"with -split", []string{"-curves", runDir, "-split", "val"}, "it does not take -split"},
		{"-o without -curves", []string{"-ckpt", runDir, "-o", filepath.Join(in, "x.png")}, "-o names the picture -curves draws; give -curves RUN"},
		{"empty -curves", []string{"-curves", ""}, "-curves is empty: give a run directory"},
		{"empty -o", []string{"-curves", runDir, "-o", ""}, "-o is empty: give a file name"},
		{"missing run", []string{"-curves", filepath.Join(in, "nowhere")}, fmt.Sprintf("-curves %s: no such file or directory", filepath.Join(in, "nowhere"))},
		{"run is a file", []string{"-curves", file}, fmt.Sprintf("-curves %s: not a run directory", file)},
		{"no metrics", []string{"-curves", emptyRun}, filepath.Join(emptyRun, "metrics.jsonl") + ": no such file or directory"},
		{"not a run", []string{"-curves", empty}, fmt.Sprintf("-curves %s: holds no qkv run", empty)},
		{"-o in a missing directory", []string{"-curves", runDir, "-o", filepath.Join(in, "no", "x.png")}, fmt.Sprintf("-o %s: no such directory %s", filepath.Join(in, "no", "x.png"), filepath.Join(in, "no"))},
		{"-o is a directory", []string{"-curves", runDir, "-o", empty}, fmt.Sprintf("-o %s: is a directory", empty)},
		{"curves.png is a directory", []string{"-curves", filepath.Dir(dirPNG)}, fmt.Sprintf("-curves %s: is a directory", dirPNG)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runEval(t, tt.args...)
			if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "eval: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing and one line containing %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}
