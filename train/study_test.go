package train

import (
	"path/filepath"
	"testing"

	"github.com/qkv-dev/qkv/data"
)

// TestLagHeadFound: a one-layer transformer trained on lag (k = 3) to
// perfect test accuracy has a head whose alignment score against the lag
// rule is far above chance, and far above its score against the copy rule
// on the same weights, so the score measures where the answer comes from
// and not merely that attention is peaked; its run directory draws.
func TestLagHeadFound(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model for about 3 s")
	}
	c := tinyConfig(t, "lag")
	c.MinLen, c.Len = data.LagDefault+1, 10
	c.DModel, c.Heads, c.Layers, c.DFF = 32, 2, 1, 64
	c.Steps, c.EvalEvery, c.LogEvery, c.SaveEvery = 3000, 500, 50, 500
	res := mustRun(t, c)
	if res.Test.TokenAccuracy < 0.99 {
		t.Fatalf("lag: test token accuracy %.3f after %d steps; the model did not learn the task", res.Test.TokenAccuracy, res.Steps)
	}
	ck, err := LoadCheckpoint(filepath.Join(res.Dir, stepDir(res.Best)))
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(ck.Model)
	defer ev.Close()
	ds, err := NewDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	lagTask, _ := data.NewTask("lag", c.Symbols)
	copyTask, _ := data.NewTask("copy", c.Symbols)
	lagRule, _ := data.AlignerOf(lagTask)
	copyRule, _ := data.AlignerOf(copyTask)
	lag, err := MeasureAlignment(ev.Attention, ds.Test, lagRule)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := MeasureAlignment(ev.Attention, ds.Test, copyRule)
	if err != nil {
		t.Fatal(err)
	}
	l, h, s := lag.Best()
	if s < 0.5 || s < 3*lag.Chance() {
		t.Errorf("best lag head %d/%d scores %.3f, chance %.3f; want >= 0.5 and >= 3× chance (all %v)", l, h, s, lag.Chance(), lag.Scores())
	}
	// The copy rule is scored on the same positions (i >= k) as the lag rule.
	if other := cp.Scores()[l][h]; other > s/3 {
		t.Errorf("head %d/%d scores %.3f on lag and %.3f on copy; want the copy score under a third", l, h, s, other)
	}
	if err := WriteCurves(res.Dir, filepath.Join(t.TempDir(), "curves.png")); err != nil {
		t.Error(err)
	}
}
