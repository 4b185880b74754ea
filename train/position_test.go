package train

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qkv-dev/qkv/data"
)

// TestPositionAccuracySkipsUncounted: lag3 scores no target at its first
// three positions and recall only at the last, so accuracy by position
// must be NaN there and present after; it was empty for both, because the
// loop stopped at the first position with no count.
func TestPositionAccuracySkipsUncounted(t *testing.T) {
	for _, c := range []struct {
		task    string
		length  int
		counted func(j int) bool
	}{
		{"lag3", 10, func(j int) bool { return j >= 3 }},
		{"recall", 9, func(j int) bool { return j == 8 }},
		{"reverse", 7, func(int) bool { return true }},
	} {
		task, err := data.NewTask(c.task, 6)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		exs := make([]data.Example, 20)
		for i := range exs {
			exs[i] = task.Generate(rng, c.length)
		}
		mc := defaultModelConfig(data.Tagging)
		mc.InVocab, mc.OutVocab = task.InVocab().Size(), task.OutVocab().Size()
		m, err := NewModel(mc, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		ev := NewEvaluator(m)
		got, _, err := ev.Evaluate(exs)
		ev.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got.PositionAccuracy) != c.length {
			t.Errorf("%s: accuracy at %d positions %v, want %d", c.task, len(got.PositionAccuracy), got.PositionAccuracy, c.length)
			continue
		}
		for j, a := range got.PositionAccuracy {
			if math.IsNaN(a) == c.counted(j) || !math.IsNaN(a) && (a < 0 || a > 1) {
				t.Errorf("%s: position %d accuracy %v; counted there: %v", c.task, j, a, c.counted(j))
			}
		}
		text, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("%s: %v", c.task, err)
		}
		var back Metrics
		if err := json.Unmarshal(text, &back); err != nil {
			t.Fatalf("%s: %v", c.task, err)
		}
		if len(back.PositionAccuracy) != len(got.PositionAccuracy) {
			t.Fatalf("%s: JSON round trip %s", c.task, text)
		}
		for j := range back.PositionAccuracy {
			if !sameFloat(back.PositionAccuracy[j], got.PositionAccuracy[j]) {
				t.Errorf("%s: position %d after JSON %v, want %v (%s)", c.task, j, back.PositionAccuracy[j], got.PositionAccuracy[j], text)
			}
		}
	}
}
