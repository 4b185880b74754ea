package train

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden checkpoint and its metrics under testdata")

const (
	goldenDir     = "testdata/golden-v1"
	goldenMetrics = "testdata/golden-v1.json"
)

// golden is what evaluating the golden checkpoint gives.
type golden struct {
	Step        int     `json:"step"`
	Test        Metrics `json:"test"`
	Predictions [][]int `json:"predictions"` // of the first few test examples
}

// TestGoldenCheckpoint loads a checkpoint written by the format-1 code of
// the day it was committed and evaluates it on its regenerated test set:
// any change to the checkpoint format, the data generators or the numerics
// shows up as a failure here. If the change is intended, bump
// FormatVersion (a new golden-vN) or, for numerics, rerun with -update
// and say why in the commit.
func TestGoldenCheckpoint(t *testing.T) {
	if *update {
		writeGoldenCheckpoint(t)
	}
	ck, err := OpenRun(goldenDir, Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	best, err := OpenRun(goldenDir, Best, func(msg string) { t.Errorf("OpenRun(best) warned: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	if best.Dir != ck.Dir {
		t.Errorf("best checkpoint %s, latest %s: want the one checkpoint", best.Dir, ck.Dir)
	}
	exs, err := ck.HeldOut(SplitTest, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(ck.Model)
	defer ev.Close()
	m, preds, err := ev.Evaluate(exs)
	if err != nil {
		t.Fatal(err)
	}
	got := golden{Step: ck.state.Step, Test: m, Predictions: preds[:5]}
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON = append(gotJSON, '\n')
	if *update {
		if err := os.WriteFile(goldenMetrics, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantJSON, err := os.ReadFile(goldenMetrics)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(wantJSON, &want); err != nil {
		t.Fatalf("%s: %v", goldenMetrics, err)
	}
	// Go writes the shortest decimal that reads back as the same float64,
	// so equal JSON means bit-identical metrics.
	if canon, _ := json.MarshalIndent(want, "", "  "); !bytes.Equal(append(canon, '\n'), gotJSON) {
		t.Errorf("evaluating %s gives\n%s\nwant (%s)\n%s", ck.Dir, gotJSON, goldenMetrics, wantJSON)
	}
	if m.SequenceAccuracy < 0.9 {
		t.Errorf("golden model's test sequence accuracy %.3f: it should have learned something", m.SequenceAccuracy)
	}

	// A checkpoint of this format also resumes (in a copy: a resumed run
	// writes into the checkpoint's run directory).
	run := t.TempDir()
	copyDir(t, filepath.Join(goldenDir, stepDir(ck.state.Step)), filepath.Join(run, stepDir(ck.state.Step)))
	cfg := ck.Config
	cfg.Steps = ck.state.Step + 10
	if _, err := mustResume(t, run, cfg).Run(t.Context()); err != nil {
		t.Errorf("resuming the golden checkpoint: %v", err)
	}
}

// writeGoldenCheckpoint trains the golden run and keeps its one checkpoint
// and best.json.
func writeGoldenCheckpoint(t *testing.T) {
	t.Helper()
	c := tinyConfig(t, "copy")
	c.Steps, c.EvalEvery, c.SaveEvery, c.Keep = 300, 300, 300, 1
	c.Dropout = 0.1
	c.Out = "" // saved in config.json; a temporary path would differ on every update
	run := c
	run.Out = t.TempDir()
	res := mustRun(t, run)
	if res.Best != c.Steps {
		t.Fatalf("best step %d, want the last, %d", res.Best, c.Steps)
	}
	if err := os.RemoveAll(goldenDir); err != nil {
		t.Fatal(err)
	}
	step := filepath.Join(goldenDir, stepDir(c.Steps))
	copyDir(t, filepath.Join(run.Out, stepDir(c.Steps)), step)
	// The checkpoint's config names the temporary run directory; store the
	// run's config without it, with the manifest to match.
	files := readCheckpointFiles(t, step)
	files[fileConfig] = c.JSON()
	writeCheckpointFiles(t, step, files)
	b, err := os.ReadFile(filepath.Join(run.Out, fileBest))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goldenDir, fileBest), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
