package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// tiny is the test's scale: the same experiments and report as -quick,
// trained for a few steps, so that the suite checks the report's
// structure in seconds. Its numbers mean nothing.
var tiny = scale{
	Name: "test", Val: 20, Test: 30,
	LagKs: []int{2}, LagSteps: 20,
	ProbeK: 2, ProbeExamples: 1,
	TimeTs: []int{4, 8}, TimeBatch: 2, TimeWarmup: 0, TimeReps: 1,
	AttnSteps: 20, AttnExamples: 4,
	ParitySteps: 20, ParityLens: []int{12, 14}, ParityExample: 8,
	CopySteps: 20, LRs: []float64{1e-3, 1e-2}, ExtendEdges: true, Seeds: 2, TwinSteps: 20,
}

// sections are REPORT.md's headings, each of which the report must hold.
var sections = []string{
	"# Why attention: the study", "## Verdicts", "## Models", "## 1. Long-range dependencies",
	"## 2. Gradient flow", "## 3. Parallelism", "## 4. Interpretability", "### reverse", "### recall", "## 5. Negative control",
	"## 6. Length generalisation", "## 7. Cross-check against PyTorch", "## Learning-rate sweeps",
}

// TestStudyReport runs the whole study at the test scale and checks the
// report: every section, every picture decodes, results.json parses into
// the schema with nothing unknown or missing and every number in range;
// a second run with the same seed gives the same numbers, timings aside.
func TestStudyReport(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ten small models")
	}
	dir := filepath.Join(t.TempDir(), "report")
	res, err := studyInto(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sections {
		if !bytes.Contains(md, []byte("\n"+s+"\n")) && !bytes.HasPrefix(md, []byte(s+"\n")) {
			t.Errorf("REPORT.md lacks the section %q", s)
		}
	}
	for _, want := range []string{"extended to ", "Both: Adam (β₁ 0.9, β₂ 0.99, ε 1e-08) with warmup", "3 training runs at a time"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("REPORT.md does not say %q", want)
		}
	}
	if bytes.Contains(md, []byte("AdamW")) {
		t.Errorf("REPORT.md calls the optimizer AdamW; weight decay is 0")
	}
	for _, v := range res.Verdicts {
		if !bytes.Contains(md, []byte(v.Claim)) {
			t.Errorf("REPORT.md does not state the claim %q", v.Claim)
		}
	}

	var pngs []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".png") {
			pngs = append(pngs, e.Name())
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			} else if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
				t.Errorf("%s: %v, too small to show anything", e.Name(), b)
			}
			if !bytes.Contains(md, []byte("("+e.Name()+")")) {
				t.Errorf("REPORT.md does not show %s", e.Name())
			}
		}
	}
	var want []string
	for name := range plotCaptions {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(pngs, want) {
		t.Errorf("pictures %v, want %v", pngs, want)
	}

	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeResults(t, b)
	checkResults(t, got)

	// Reproducible: a second study, same seed, same numbers, though the
	// first trained three runs at a time and this one one. It writes
	// over an earlier report in which one picture cannot be replaced in
	// place (a directory where a PNG goes): the new report is built aside
	// and swapped in whole, so that never mixes old and new files or
	// fails (issue 13, defect 6: written file by file, a failure left new
	// plots beside the old REPORT.md).
	parent := t.TempDir()
	dir2 := filepath.Join(parent, "again")
	os.MkdirAll(filepath.Join(dir2, "parity.png", "x"), 0o755)
	os.WriteFile(filepath.Join(dir2, "REPORT.md"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir2, "old.png"), nil, 0o644)
	os.WriteFile(filepath.Join(dir2, "results.json"), []byte(`{"study":"`+reportMarker+`"}`), 0o644)
	if _, err := studyInto(dir2, 1); err != nil {
		t.Fatal(err)
	}
	if md2, _ := os.ReadFile(filepath.Join(dir2, "REPORT.md")); !bytes.HasPrefix(md2, []byte(sections[0])) {
		t.Errorf("the second report's REPORT.md is %.40q…", md2)
	}
	if _, err := os.Stat(filepath.Join(dir2, "old.png")); err == nil {
		t.Errorf("the earlier report's old.png survived beside the new report")
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("beside the report: %v, want only the report", entries)
	}
	b2, _ := os.ReadFile(filepath.Join(dir2, "results.json"))
	again := decodeResults(t, b2)
	for _, r := range []*Results{got, again} {
		r.WallSeconds, r.Parallelism.Points, r.Load, r.Workers = 0, nil, [2]float64{}, 0
		r.Verdicts = slices.DeleteFunc(r.Verdicts, func(v Verdict) bool { return v.Claim == claimParallel })
	}
	if !reflect.DeepEqual(got, again) {
		t.Errorf("a second run with the same seed measured different numbers:\n%s\n%s", mustJSON(got), mustJSON(again))
	}

	// The report directory may be written over by another study.
	if err := checkOut(dir); err != nil {
		t.Errorf("a previous report is refused: %v", err)
	}
}

// studyInto runs the study at the test scale, seed 1, into dir, with
// that many training runs at a time.
func studyInto(dir string, workers int) (*Results, error) {
	out, err := openOut(dir)
	if err != nil {
		return nil, err
	}
	return runStudy(context.Background(), tiny, 1, workers, out, quiet)
}

func decodeResults(t *testing.T, b []byte) *Results {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Results
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	// Every key of the schema is present: re-encoding gives the same keys.
	var a, c map[string]any
	json.Unmarshal(b, &a)
	re, _ := json.Marshal(r)
	json.Unmarshal(re, &c)
	if !reflect.DeepEqual(keys(a), keys(c)) {
		t.Errorf("results.json keys %v, schema %v", keys(a), keys(c))
	}
	return &r
}

func keys(v any) []string {
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				out = append(out, prefix+"."+k)
				walk(prefix+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(prefix+"[]", x)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkResults checks the schema's contents: as many points as the scale
// asks for, accuracies and scores in [0, 1], positive norms and times,
// matched sizes within 10%, a known verdict for each claim.
func checkResults(t *testing.T, r *Results) {
	t.Helper()
	unit := func(what string, x float64) {
		if math.IsNaN(x) || x < 0 || x > 1 {
			t.Errorf("%s = %v, want in [0, 1]", what, x)
		}
	}
	positive := func(what string, x float64) {
		if !(x > 0) || math.IsInf(x, 0) {
			t.Errorf("%s = %v, want finite and positive", what, x)
		}
	}
	if r.Study != reportMarker || r.Scale != tiny.Name || r.Seed != 1 || r.Cores < 1 {
		t.Errorf("header %q %q %d %d", r.Study, r.Scale, r.Seed, r.Cores)
	}
	positive("wall_seconds", r.WallSeconds)
	if len(r.Models) != len(tiny.LagKs)+4 {
		t.Errorf("%d model pairs, want %d", len(r.Models), len(tiny.LagKs)+4)
	}
	// A sweep per task and model: lag, reverse, recall, runparity, copy,
	// and the cross-check's two.
	if want := 2*(len(tiny.LagKs)+4) + 2; len(r.Tuning) != want {
		t.Errorf("%d sweeps, want %d", len(r.Tuning), want)
	}
	for i, tu := range r.Tuning {
		if len(tu.Val) != len(tu.LRs) || !slices.Contains(tu.LRs, tu.Chosen) || !slices.IsSorted(tu.LRs) {
			t.Errorf("sweep %+v: a score per rate, ascending rates and a chosen rate among them", tu)
		}
		edge := len(tu.LRs) > 1 && (tu.Chosen == tu.LRs[0] || tu.Chosen == tu.LRs[len(tu.LRs)-1])
		if tu.Edge != edge {
			t.Errorf("sweep %+v: edge %v, want %v", tu, tu.Edge, edge)
		}
		// tiny's grid has two rates, so every sweep's best is at an edge
		// of it: each is extended but the cross-check's, which stays on
		// PyTorch's grid.
		crossCheck := i >= len(r.Tuning)-2
		if next, _ := edgeRate(tu.Grid, bestOf(tu.Grid, tu)); !crossCheck && (tu.Extended != next || len(tu.LRs) != len(tu.Grid)+1 || !slices.Contains(tu.LRs, next)) {
			t.Errorf("sweep %+v: extended to %v, want %v", tu, tu.Extended, next)
		}
		if crossCheck && (tu.Extended != 0 || !slices.Equal(tu.LRs, tu.Grid)) {
			t.Errorf("cross-check sweep %+v extended", tu)
		}
	}
	for _, p := range r.LongRange.Points {
		if len(p.Token.TransformerSeeds) != tiny.Seeds || len(p.Token.LSTMSeeds) != tiny.Seeds {
			t.Errorf("lag%d: seeds %v and %v, want %d each", p.K, p.Token.TransformerSeeds, p.Token.LSTMSeeds, tiny.Seeds)
		}
		if p.Token.Transformer != medianOf(p.Token.TransformerSeeds) || p.Token.LSTM != medianOf(p.Token.LSTMSeeds) {
			t.Errorf("lag%d: %v and %v are not the medians of %v and %v", p.K, p.Token.Transformer, p.Token.LSTM, p.Token.TransformerSeeds, p.Token.LSTMSeeds)
		}
	}
	if len(r.Length) != len(lengthTasks) {
		t.Errorf("%d length tasks, want %d", len(r.Length), len(lengthTasks))
	}
	for _, g := range r.Length {
		if len(g.Points) != 3 || g.Points[2].Len != 2*g.TrainMaxLen {
			t.Errorf("%s: points %+v, want 3 up to twice %d", g.Task, g.Points, g.TrainMaxLen)
		}
		for _, p := range g.Points {
			unit(g.Task+" length token", p.Token.Transformer)
			unit(g.Task+" length token", p.Token.LSTM)
		}
	}
	if len(r.CrossCheck.Models) != 2 || r.CrossCheck.Torch == "" {
		t.Errorf("cross-check %+v", r.CrossCheck)
	}
	for _, m := range r.CrossCheck.Models {
		unit("qkv twin accuracy", m.QKV.Median)
		unit("torch twin accuracy", m.Torch.Median)
	}
	for _, m := range r.Models {
		if math.Abs(float64(m.LSTMParams-m.TransformerParams)) > 0.1*float64(m.TransformerParams) {
			t.Errorf("%s: %d LSTM parameters against %d: not within 10%%", m.Task, m.LSTMParams, m.TransformerParams)
		}
	}
	if len(r.LongRange.Points) != len(tiny.LagKs) {
		t.Errorf("%d lag points, want %d", len(r.LongRange.Points), len(tiny.LagKs))
	}
	for _, p := range r.LongRange.Points {
		unit("lag token accuracy", p.Token.Transformer)
		unit("lag token accuracy", p.Token.LSTM)
		unit("lag sequence accuracy", p.Sequence.Transformer)
		unit("lag sequence accuracy", p.Sequence.LSTM)
	}
	if len(r.Gradients.Curves) != 4 {
		t.Errorf("%d gradient curves, want 4", len(r.Gradients.Curves))
	}
	for _, c := range r.Gradients.Curves {
		// j runs over the positions with a target, k … T−1; i over all.
		if n := 2*r.Gradients.Length - 1 - tiny.ProbeK; len(c.Distance) != n || len(c.MeanNorm) != n {
			t.Errorf("%s/%s: %d distances, %d norms; want %d", c.Model, c.Stage, len(c.Distance), len(c.MeanNorm), n)
		}
		for _, v := range c.MeanNorm {
			if !(v >= 0) || math.IsInf(v, 0) {
				t.Errorf("%s/%s: mean norm %v", c.Model, c.Stage, v)
			}
		}
		positive("near norm", c.NearNorm)
		positive("far/near", c.FarToNear)
	}
	if len(r.Parallelism.Points) != len(tiny.TimeTs) {
		t.Errorf("%d timing points, want %d", len(r.Parallelism.Points), len(tiny.TimeTs))
	}
	for _, p := range r.Parallelism.Points {
		positive("transformer ms", p.Transformer.Median)
		positive("lstm ms", p.LSTM.Median)
		if p.TransformerDepth != tLayers || p.LSTMDepth != lstmLayers*p.T {
			t.Errorf("T=%d: depths %d and %d", p.T, p.TransformerDepth, p.LSTMDepth)
		}
	}
	if len(r.Interpretability) != 2 {
		t.Errorf("%d interpretability tasks, want 2", len(r.Interpretability))
	}
	for _, in := range r.Interpretability {
		if len(in.Scores) != tLayers || len(in.Scores[0]) != tHeads {
			t.Errorf("%s: scores %v, want %d layers of %d heads", in.Task, in.Scores, tLayers, tHeads)
		}
		for _, row := range in.Scores {
			for _, v := range row {
				unit(in.Task+" head score", v)
			}
		}
		unit(in.Task+" chance", in.Chance)
		unit(in.Task+" best", in.Best)
		unit(in.Task+" saliency", in.Saliency.Transformer)
		unit(in.Task+" saliency", in.Saliency.LSTM)
		if in.Positions <= 0 || in.BestLayer < 0 || in.BestHead < 0 {
			t.Errorf("%s: %d positions, best head %d/%d", in.Task, in.Positions, in.BestLayer, in.BestHead)
		}
	}
	if len(r.NegativeControl.Points) != len(tiny.ParityLens) {
		t.Errorf("%d parity points, want %d", len(r.NegativeControl.Points), len(tiny.ParityLens))
	}
	unit("parity test", r.NegativeControl.Test.Transformer)
	unit("parity test", r.NegativeControl.Test.LSTM)
	for _, p := range r.NegativeControl.Points {
		unit("parity token", p.Token.Transformer)
		unit("parity token", p.Token.LSTM)
	}
	claims := []string{claimLongRange, claimGradients, claimParallel, claimReadable, claimControl, claimLength, claimTwin}
	if len(r.Verdicts) != len(claims) {
		t.Fatalf("%d verdicts, want %d", len(r.Verdicts), len(claims))
	}
	for i, v := range r.Verdicts {
		if v.Claim != claims[i] || !slices.Contains([]string{"holds", "partly", "not shown", "does not hold"}, v.Verdict) || v.Evidence == "" {
			t.Errorf("verdict %d: %+v", i, v)
		}
	}
	if len(r.Plots) != len(plotCaptions) {
		t.Errorf("plots %v", r.Plots)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRunRefuses: bad flags and output directories the study must not
// write into are usage errors, before any work.
func TestRunRefuses(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	fake := t.TempDir()
	os.WriteFile(filepath.Join(fake, "results.json"), []byte(`{"study":"other"}`), 0o644)
	for _, args := range [][]string{
		{"-nope"}, {"-seed", "x"}, {"-workers", "0"}, {"extra"}, {"-out", ""}, {"-out", full}, {"-out", file}, {"-out", fake},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), args, &bytes.Buffer{}, &stderr)
		if !errors.As(err, new(usageError)) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
		if strings.Contains(err.Error(), "\n") || stderr.Len() != 0 {
			t.Errorf("run(%q): error %q and stderr %q, want one line and nothing on stderr", args, err, stderr.String())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(full, "notes.txt")); string(b) != "mine" {
		t.Errorf("a user's file was touched")
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr); !strings.Contains(stderr.String(), "-quick") {
		t.Errorf("-h: %v, usage %q", err, stderr.String())
	}
}

// TestTwinDataRefuses: -twin-data writes only into a new or empty
// directory, and its refusals name -twin-data, not -out. A previous study
// report is a directory -out may write over, but not one -twin-data may.
func TestTwinDataRefuses(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o644)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	report := t.TempDir()
	os.WriteFile(filepath.Join(report, "results.json"), []byte(`{"study":"`+reportMarker+`"}`), 0o644)
	for _, dir := range []string{full, file, report} {
		err := run(context.Background(), []string{"-twin-data", dir}, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.As(err, new(usageError)) || !strings.HasPrefix(err.Error(), "-twin-data "+dir+": ") {
			t.Errorf("-twin-data %s: %v, want a usage error that names -twin-data", dir, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(full, "notes.txt")); string(b) != "mine" {
		t.Errorf("a user's file was touched")
	}
	if entries, _ := os.ReadDir(report); len(entries) != 1 {
		t.Errorf("-twin-data wrote into a study report: %d entries", len(entries))
	}
	empty := t.TempDir()
	if err := run(context.Background(), []string{"-twin-data", empty}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("-twin-data into an empty directory: %v", err)
	}
	for _, name := range twinFiles {
		if fi, err := os.Stat(filepath.Join(empty, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// bestOf is the rate of grid that tu scored best (then lowest loss), as
// fitRates chooses among the grid before any extension.
func bestOf(grid []float64, tu Tuning) float64 {
	best := -1
	for i, lr := range tu.LRs {
		if !slices.Contains(grid, lr) {
			continue
		}
		if best < 0 || tu.Val[i] > tu.Val[best] || tu.Val[i] == tu.Val[best] && tu.ValLoss[i] < tu.ValLoss[best] {
			best = i
		}
	}
	return tu.LRs[best]
}

// TestEdgeRate: a rate chosen at either edge of the grid extends it by one
// step of the 1–3 grid; one inside it, or a grid of one rate, does not.
func TestEdgeRate(t *testing.T) {
	decades := []float64{1e-4, 1e-3, 1e-2}
	halves := []float64{3e-3, 1e-2, 3e-2}
	for _, c := range []struct {
		grid   []float64
		chosen float64
		want   float64
		ok     bool
	}{
		{decades, 1e-2, 3e-2, true},
		{decades, 1e-4, 3e-5, true},
		{decades, 1e-3, 0, false},
		{halves, 3e-2, 1e-1, true},
		{halves, 3e-3, 1e-3, true},
		{halves, 1e-2, 0, false},
		{[]float64{5e-3, 2e-2}, 2e-2, 3e-2, true},
		{[]float64{5e-3, 2e-2}, 5e-3, 3e-3, true},
		{[]float64{1e-3}, 1e-3, 0, false},
	} {
		got, ok := edgeRate(c.grid, c.chosen)
		if got != c.want || ok != c.ok {
			t.Errorf("edgeRate(%v, %g) = %v, %v; want %v, %v", c.grid, c.chosen, got, ok, c.want, c.ok)
		}
	}
}

// TestOptimizerName: the report names the optimizer the runs use as
// cmd/train does: Adam at weight decay 0 (the study's), AdamW only with
// a decay.
func TestOptimizerName(t *testing.T) {
	s := &study{sc: tiny, seed: 1}
	c := s.transformer("lag", 10)
	if got, want := optimizerName(c), "Adam (β₁ 0.9, β₂ 0.99, ε 1e-08)"; got != want {
		t.Errorf("optimizerName = %q, want %q", got, want)
	}
	c.WeightDecay = 0.01
	if got := optimizerName(c); !strings.HasPrefix(got, "AdamW (weight decay 0.01)") {
		t.Errorf("with weight decay 0.01: %q, want AdamW", got)
	}
}
