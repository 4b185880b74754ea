package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
)

// TestGradientProbeMatchesEmbedding checks the probe against a gradient
// it does not compute itself: with every input token distinct, the
// gradient of L_j with respect to token i's embedding row is ∂L_j/∂x_i
// (times √d_model where the embedding is scaled), which the ordinary
// training graph computes. A forward LSTM also must not pass any
// gradient from the future: ‖∂L_j/∂x_i‖ = 0 for i > j.
func TestGradientProbeMatchesEmbedding(t *testing.T) {
	for _, tc := range []struct {
		name string
		arch Arch
		dirs int
	}{{"transformer", Transformer, 0}, {"lstm", LSTM, 1}, {"bilstm", LSTM, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyConfig(t, "lag1")
			c.Model, c.Directions, c.Dtype = tc.arch, tc.dirs, Float64
			m, err := NewTaskModel(c)
			if err != nil {
				t.Fatal(err)
			}
			task, _ := data.NewTask("lag1", c.Symbols)
			var ex data.Example
			for id, tok := range task.InVocab().Tokens() {
				if !strings.HasPrefix(tok, "<") && len(ex.Input) < c.Len {
					ex.Input = append(ex.Input, id)
				}
			}
			ex.Target = []int{data.Ignore}
			ex.Target = append(ex.Target, ex.Input[:len(ex.Input)-1]...)
			n := len(ex.Input)

			probe, err := NewGradientProbe(m)
			if err != nil {
				t.Fatal(err)
			}
			defer probe.Close()
			norms, err := probe.Norms(ex)
			if err != nil {
				t.Fatal(err)
			}
			if norms[0] != nil {
				t.Errorf("row 0 has no loss but got norms %v", norms[0])
			}

			g, err := m.Build(1, n, Training)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			batch, _ := data.MakeBatch(data.Tagging, []data.Example{ex}, 1, n)
			if err := g.Load(batch, make([]float64, n)); err != nil {
				t.Fatal(err)
			}
			table := -1
			for i, p := range g.Params() {
				if p == m.Embed.Table {
					table = i
				}
			}
			scale := 1.0
			if m.Embed.Scale {
				scale = math.Sqrt(float64(c.DModel))
			}
			targets := g.Targets.Data().([]float64)
			for j := 1; j < n; j++ {
				for i := range targets {
					targets[i] = data.Ignore
				}
				targets[j] = float64(ex.Target[j])
				if err := g.Prog.Run(); err != nil {
					t.Fatal(err)
				}
				grad := g.Prog.Grads()[table].Data().([]float64)
				for i, tok := range ex.Input {
					s := 0.0
					for _, v := range grad[tok*c.DModel : (tok+1)*c.DModel] {
						s += v * v
					}
					want := math.Sqrt(s) / scale
					if got := norms[j][i]; math.Abs(got-want) > 1e-9*max(1, want) {
						t.Errorf("‖∂L_%d/∂x_%d‖ = %.12g, the embedding's gradient says %.12g", j, i, got, want)
					}
					if tc.dirs == 1 && i > j && norms[j][i] != 0 {
						t.Errorf("forward LSTM: ‖∂L_%d/∂x_%d‖ = %g, want 0 from the future", j, i, norms[j][i])
					}
				}
			}
		})
	}
}

func TestSequentialDepth(t *testing.T) {
	tr := ModelConfig{Architecture: Architecture{Layers: 2}}
	ls := ModelConfig{Architecture: Architecture{Layers: 2, Model: LSTM}}
	for _, n := range []int{1, 8, 128} {
		if got := SequentialDepth(tr, n); got != 2 {
			t.Errorf("transformer, T=%d: depth %d, want 2", n, got)
		}
		if got := SequentialDepth(ls, n); got != 2*n {
			t.Errorf("lstm, T=%d: depth %d, want %d", n, got, 2*n)
		}
	}
}

func TestStepTimes(t *testing.T) {
	c := tinyConfig(t, "lag1")
	m, err := NewTaskModel(c)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Embed.Table.Float64s()
	task, _ := data.NewTask("lag1", c.Symbols)
	ex := task.Generate(rand.New(rand.NewPCG(1, 1)), 5)
	b, _ := data.MakeBatch(data.Tagging, []data.Example{ex, ex}, 2, 5)
	times, err := StepTimes(m, b, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 3 || times[0] > times[2] || times[0] <= 0 {
		t.Errorf("times %v: want 3 positive durations, sorted", times)
	}
	for i, v := range m.Embed.Table.Float64s() {
		if v != before[i] {
			t.Fatalf("timing changed the weights")
		}
	}
}
