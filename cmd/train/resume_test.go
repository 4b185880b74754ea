package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestResumeRestated checks that -resume accepts what means the run's own
// settings: the documented automatic values restated (-warmup -1, and
// -len 0 for a data file), the data file under another spelling, and a run
// trained with a relative -data resumed from another directory, where
// that path means nothing but heldout.json records where the file is. A
// file of other contents is still refused, by name.
func TestResumeRestated(t *testing.T) {
	work := t.TempDir()
	writeLines(t, filepath.Join(work, "train.tsv"), copyLines(rand.New(rand.NewPCG(3, 9)), 200, 2, 6))
	run := filepath.Join(work, "run")
	step := func(n string) []string { return []string{"-steps", n, "-save-every", "2", "-eval-every", "2"} }
	auto := slices.Clone(fileModel[:len(fileModel)-2]) // no -warmup: the automatic one
	if !slices.Equal(fileModel[len(fileModel)-2:], []string{"-warmup", "2"}) {
		t.Fatalf("fileModel %q does not end in -warmup 2", fileModel)
	}
	mustTrain(t, work, slices.Concat(auto, step("20"), []string{"-data", "train.tsv", "-out", "run"})...)

	elsewhere := t.TempDir()
	for i, tt := range []struct {
		dir  string
		args []string
	}{
		{work, []string{"-warmup", "-1", "-len", "0"}},
		{work, []string{"-data", "./train.tsv"}},
		{work, []string{"-data", filepath.Join(work, "train.tsv")}},
		{elsewhere, nil},
	} {
		n := []string{"22", "24", "26", "28"}[i]
		args := slices.Concat([]string{"-resume", run}, step(n), tt.args)
		r := runTrain(t, tt.dir, args...)
		if r.code != 0 || !strings.Contains(r.stderr, "resuming ") {
			t.Errorf("train %s (in %s): exit %d; stderr:\n%s", strings.Join(args, " "), tt.dir, r.code, lastLines(r.stderr, 3))
		}
	}
	if b, err := os.ReadFile(filepath.Join(run, "config.json")); err != nil || !strings.Contains(string(b), `"data": "train.tsv"`) {
		t.Errorf("config.json no longer spells the data file as the run did:\n%s", b)
	}

	other := writeLines(t, filepath.Join(elsewhere, "train.tsv"), copyLines(rand.New(rand.NewPCG(4, 9)), 200, 2, 6))
	r := runTrain(t, elsewhere, slices.Concat([]string{"-resume", run, "-data", "train.tsv"}, step("30"))...)
	checkUsageError(t, r, other)
	r = runTrain(t, work, "-resume", run, "-warmup", "3")
	checkUsageError(t, r, "-warmup 3 contradicts")
}
