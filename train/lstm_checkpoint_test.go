package train

import (
	"path/filepath"
	"testing"
)

// lstmCheckpoint is an LSTM run written by the code before backbones
// (commit db4f706: go run ./cmd/train -task copy -model lstm -d-model 8
// -layers 1 -steps 20 -eval-every 20 -save-every 20 -keep 1 -val-examples
// 20 -test-examples 20 -batch 4 -len 6), whose config.json has the flat
// keys of that day, the transformer's among them. lstmCheckpointTest is
// the test evaluation that run logged to its metrics.jsonl.
const lstmCheckpoint = "testdata/lstm-v1"

var lstmCheckpointTest = Metrics{Loss: 2.480182409286499, TokenAccuracy: 0.11392405063291139, SequenceAccuracy: 0}

// TestLSTMCheckpointFromBeforeBackbones: an LSTM checkpoint written before
// the backbones were reorganised loads, evaluates to the numbers its run
// logged, and resumes.
func TestLSTMCheckpointFromBeforeBackbones(t *testing.T) {
	ck, err := OpenRun(lstmCheckpoint, Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	if c := ck.Model.Config(); c.Model != LSTM || c.Directions != 2 || c.DModel != 8 {
		t.Errorf("model %s, %d directions, d_model %d; want lstm, 2, 8", c.Model, c.Directions, c.DModel)
	}
	exs, err := ck.HeldOut(SplitTest, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(ck.Model)
	defer ev.Close()
	m, _, err := ev.Evaluate(exs)
	if err != nil {
		t.Fatal(err)
	}
	want := lstmCheckpointTest
	if m.Loss != want.Loss || m.TokenAccuracy != want.TokenAccuracy || m.SequenceAccuracy != want.SequenceAccuracy {
		t.Errorf("test loss %v, token accuracy %v, sequence accuracy %v; the run logged %v, %v, %v",
			m.Loss, m.TokenAccuracy, m.SequenceAccuracy, want.Loss, want.TokenAccuracy, want.SequenceAccuracy)
	}

	run := t.TempDir()
	copyDir(t, filepath.Join(lstmCheckpoint, stepDir(ck.state.Step)), filepath.Join(run, stepDir(ck.state.Step)))
	cfg := ck.Config
	cfg.Steps = ck.state.Step + 4
	if _, err := mustResume(t, run, cfg).Run(t.Context()); err != nil {
		t.Errorf("resuming: %v", err)
	}
}
