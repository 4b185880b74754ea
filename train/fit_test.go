package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
)

// reverseExamples makes n examples of reversing 2 to 6 of syms' symbols.
func reverseExamples(t testing.TB, syms data.Symbols, n int, seed uint64) []data.Example {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	exs := make([]data.Example, n)
	for i := range exs {
		in := make([]int, 2+rng.IntN(5))
		for j := range in {
			in[j] = rng.IntN(int(syms))
		}
		out := slices.Clone(in)
		slices.Reverse(out)
		ex, err := syms.Example(in, out)
		if err != nil {
			t.Fatal(err)
		}
		exs[i] = ex
	}
	return exs
}

// fitModel is a small tagging model over syms, with dropout so that the
// dropout generator is part of what a resume must restore.
func fitModel(t testing.TB, syms data.Symbols, arch Arch) *Model {
	t.Helper()
	m, err := NewModel(ModelConfig{Kind: data.Tagging, InVocab: syms.Size(), OutVocab: syms.Size(), MaxLen: 6,
		Architecture: Architecture{Model: arch, DModel: 16, Layers: 1, Dropout: 0.1,
			TransformerConfig: TransformerConfig{Heads: 2, DFF: 32}}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func weights(m *Model) map[string][]float64 {
	w := map[string][]float64{}
	for _, p := range m.Params() {
		w[p.Name()] = p.Float64s()
	}
	return w
}

func sameWeights(t *testing.T, what string, a, b map[string][]float64) {
	t.Helper()
	for name, x := range a {
		if !slices.Equal(x, b[name]) {
			t.Errorf("%s: %s differs", what, name)
			return
		}
	}
}

// TestFitResumesExactly: Fit into a directory to step 10, then fitted
// again to step 20 with the same examples, gives bit for bit the weights
// of one Fit to step 20 in memory, for both architectures. (A constant
// schedule: a cosine one's decay depends on the total steps, which differ
// between the two halves.)
func TestFitResumesExactly(t *testing.T) {
	syms := data.Symbols(5)
	exs := reverseExamples(t, syms, 200, 1)
	val := reverseExamples(t, syms, 20, 2)
	for _, arch := range []Arch{Transformer, LSTM} {
		opts := FitOptions{Optimization: Optimization{Batch: 8, Steps: 20, LR: 3e-3, Schedule: "constant", Warmup: 3, Clip: 1, Seed: 4},
			Bookkeeping: Bookkeeping{EvalEvery: 5, LogEvery: 5, SaveEvery: 10}, Val: val}

		whole := fitModel(t, syms, arch)
		if _, err := Fit(t.Context(), whole, exs, opts); err != nil {
			t.Fatal(err)
		}

		dir := filepath.Join(t.TempDir(), "run")
		first, second := fitModel(t, syms, arch), fitModel(t, syms, arch)
		half := opts
		half.Steps, half.Dir = 10, dir
		res, err := Fit(t.Context(), first, exs, half)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 10 || res.Dir != dir || !HoldsRun(dir) {
			t.Fatalf("%s: first half: %+v, holds a run: %v", arch, res, HoldsRun(dir))
		}
		rest := opts
		rest.Dir = dir
		if res, err = Fit(t.Context(), second, exs, rest); err != nil {
			t.Fatal(err)
		}
		if res.Steps != 20 || res.Val.Examples != len(val) {
			t.Errorf("%s: resumed: %+v, want 20 steps and a validation of %d", arch, res, len(val))
		}
		sameWeights(t, string(arch)+": resumed against uninterrupted in memory", weights(whole), weights(second))

		// The run's checkpoint loads as any run's does, with the weights.
		ck, err := OpenRun(dir, Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) })
		if err != nil {
			t.Fatal(err)
		}
		sameWeights(t, string(arch)+": checkpoint against model", weights(second), weights(ck.Model))

		// Other examples, or another model, are not this run.
		other := reverseExamples(t, syms, 200, 3)
		if _, err := Fit(t.Context(), fitModel(t, syms, arch), other, rest); err == nil || !strings.Contains(err.Error(), "examples") {
			t.Errorf("%s: resuming with other examples: %v, want an error naming examples", arch, err)
		}
	}
}

// TestFitInMemoryWritesNothing: without a directory Fit creates no file,
// here or in the default checkpoints directory.
func TestFitInMemoryWritesNothing(t *testing.T) {
	t.Chdir(t.TempDir())
	syms := data.Symbols(5)
	m := fitModel(t, syms, Transformer)
	before := weights(m)
	res, err := Fit(t.Context(), m, reverseExamples(t, syms, 50, 1), FitOptions{Optimization: Optimization{Batch: 4, Steps: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 5 || res.Dir != "" || res.Best != 0 {
		t.Errorf("result %+v, want 5 steps, no directory, no best", res)
	}
	if ents, _ := os.ReadDir("."); len(ents) != 0 {
		t.Errorf("Fit in memory wrote %v", ents)
	}
	changed := false
	for name, w := range weights(m) {
		changed = changed || !slices.Equal(w, before[name])
	}
	if !changed {
		t.Error("Fit left the weights as they were")
	}
}

// TestFitInterrupted: a cancelled context stops Fit with ErrInterrupted.
func TestFitInterrupted(t *testing.T) {
	syms := data.Symbols(5)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Fit(ctx, fitModel(t, syms, Transformer), reverseExamples(t, syms, 20, 1), FitOptions{Optimization: Optimization{Batch: 4, Steps: 5}})
	if !errors.Is(err, ErrInterrupted) || res.Steps != 0 {
		t.Errorf("Fit with a cancelled context: %+v, %v; want 0 steps and ErrInterrupted", res, err)
	}
}

// TestFitRefusesBadExamples checks each rule on an example on both sides:
// the last good value trains, the first bad one is refused with its reason.
func TestFitRefusesBadExamples(t *testing.T) {
	syms := data.Symbols(5)
	good := data.Example{Input: []int{2, 3, 4, 5, 6, 6}, Target: []int{6, 6, 5, 4, 3, data.Ignore}}
	for _, tt := range []struct {
		name string
		edit func(*data.Example)
		want string // "" for an example that trains
	}{
		{"good: longest, highest ids", func(*data.Example) {}, ""},
		{"unknown input", func(e *data.Example) { e.Input[0] = data.UnkID }, ""},
		{"too long", func(e *data.Example) { e.Input, e.Target = append(e.Input, 2), append(e.Target, 2) }, "at most 6"},
		{"empty", func(e *data.Example) { e.Input, e.Target = nil, nil }, "empty input"},
		{"padding id in input", func(e *data.Example) { e.Input[0] = data.PadID }, "id 0 outside 1..6"},
		{"input id past the vocabulary", func(e *data.Example) { e.Input[0] = syms.Size() }, "id 7 outside 1..6"},
		{"target id past the vocabulary", func(e *data.Example) { e.Target[1] = syms.Size() }, "target 1: id 7"},
		{"targets short", func(e *data.Example) { e.Target = e.Target[:5] }, "5 targets for 6 inputs"},
	} {
		ex := data.Example{Input: slices.Clone(good.Input), Target: slices.Clone(good.Target)}
		tt.edit(&ex)
		_, err := Fit(t.Context(), fitModel(t, syms, Transformer), []data.Example{ex}, FitOptions{Optimization: Optimization{Batch: 1, Steps: 1}})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Fit = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := Fit(t.Context(), fitModel(t, syms, Transformer), nil, FitOptions{}); err == nil || !strings.Contains(err.Error(), "no examples") {
		t.Errorf("Fit of no examples = %v, want an error", err)
	}
}

// TestZeroModelConfig: a ModelConfig with nothing but its kind and
// vocabularies builds the default model instead of failing on an empty
// activation.
func TestZeroModelConfig(t *testing.T) {
	for _, arch := range []Arch{"", LSTM} {
		m, err := NewModel(ModelConfig{Kind: data.Tagging, InVocab: 7, OutVocab: 7, Architecture: Architecture{Model: arch}}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatalf("%q: %v", arch, err)
		}
		got, want := m.Config().Architecture, Default().Architecture
		want.Model = arch
		if arch == LSTM {
			want.TransformerConfig, want.Directions = TransformerConfig{}, 2
		}
		if got != want {
			t.Errorf("%q: architecture %+v, want %+v", arch, got, want)
		}
		if _, err := m.Predict([][]int{{2, 3, 4}}); err != nil {
			t.Errorf("%q: Predict: %v", arch, err)
		}
	}
}

// TestGradientsByName: Graph.Gradients pairs each parameter's name with
// the gradient the program computed for that parameter.
func TestGradientsByName(t *testing.T) {
	m := smallModel(t, data.Tagging, "")
	g, err := m.Build(2, 4, Training)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	b, err := data.MakeBatch(data.Tagging, []data.Example{{Input: []int{2, 3}, Target: []int{3, 2}}, {Input: []int{4, 5, 6, 7}, Target: []int{2, 3, 4, 5}}}, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Load(b, make([]float64, 8)); err != nil {
		t.Fatal(err)
	}
	if err := g.Prog.Run(); err != nil {
		t.Fatal(err)
	}
	grads := g.Gradients()
	if len(grads) != len(m.Params()) {
		t.Fatalf("%d gradients for %d parameters", len(grads), len(m.Params()))
	}
	for _, p := range m.Params() {
		gr, ok := grads[p.Name()]
		if !ok || !gr.Shape().Eq(p.Shape()) {
			t.Errorf("%s: gradient %v (present %v), want shape %v", p.Name(), gr, ok, p.Shape())
		}
	}
}

// TestForeignKey: a setting of the architecture not chosen is named as
// such; shared and own settings are not.
func TestForeignKey(t *testing.T) {
	for _, tt := range []struct {
		model Arch
		key   string
		owner Arch
	}{
		{LSTM, "heads", Transformer}, {LSTM, "pos", Transformer}, {LSTM, "directions", ""}, {LSTM, "d_model", ""},
		{Transformer, "directions", LSTM}, {"", "directions", LSTM}, {Transformer, "heads", ""}, {Transformer, "batch", ""},
	} {
		owner, ok := ForeignKey(tt.model, tt.key)
		if owner != tt.owner || ok != (tt.owner != "") {
			t.Errorf("ForeignKey(%q, %q) = %q, %v; want %q", tt.model, tt.key, owner, ok, tt.owner)
		}
	}
}
