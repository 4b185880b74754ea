package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
)

// smallModel is an untrained model of kind with an input vocabulary of 8
// and an output vocabulary of 6, specials included.
func smallModel(t testing.TB, kind data.Kind, pos layers.Positional) *Model {
	t.Helper()
	m, err := NewModel(ModelConfig{
		Kind: kind, InVocab: 8, OutVocab: 6, MaxLen: 8, Architecture: Architecture{
			DModel: 16, Layers: 1, Dtype: Float32,
			TransformerConfig: TransformerConfig{Heads: 2, DFF: 32, Activation: layers.ReLU, Norm: layers.PostNorm, Positional: pos},
		},
	}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// favour sets the head's bias so that the logits of ids rank first, by far,
// in that order.
func favour(t testing.TB, m *Model, ids ...int) {
	t.Helper()
	bias := make([]float64, m.Config().OutVocab)
	for i, id := range ids {
		bias[id] = 100 - 10*float64(i)
	}
	if err := m.Head.Bias.SetFloat64s(bias); err != nil {
		t.Fatal(err)
	}
}

func TestBestToken(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		logits []float64
		want   int
	}{
		{[]float64{9, 8, 1, 2, 3}, 4},         // pad and unk highest: never chosen
		{[]float64{0, 0, 5, 5, 1}, 2},         // a tie goes to the first
		{[]float64{0, 0, nan, 1, 0}, 3},       // NaN loses to a number
		{[]float64{0, 0, 1, nan, 0}, 2},       // wherever it is
		{[]float64{0, 0, -1}, 2},              // the only real token
		{[]float64{5, 1}, data.UnkID},         // nothing to choose from
		{[]float64{9, 8, -3, -2, -7}, 3},      // negative logits
		{[]float64{nan, nan, nan, nan}, 2},    // all NaN: the first real token
		{[]float64{1, 1, math.Inf(-1), 0}, 3}, // −Inf loses
	}
	for _, tt := range tests {
		if got := BestToken(tt.logits); got != tt.want {
			t.Errorf("BestToken(%v) = %d, want %d", tt.logits, got, tt.want)
		}
	}
}

// TestNeverPredictsSpecials: a model whose logits favour <pad>, then
// <unk>, predicts neither, in Evaluate (predictions and accuracy) or in
// Predict, for tagging and classification.
func TestNeverPredictsSpecials(t *testing.T) {
	for _, kind := range []data.Kind{data.Tagging, data.Classification} {
		t.Run(kind.String(), func(t *testing.T) {
			m := smallModel(t, kind, layers.Sinusoidal)
			favour(t, m, data.PadID, data.UnkID, 4)
			ev := NewEvaluator(m)
			defer ev.Close()
			inputs := [][]int{{2, 3, 4}, {5}, {7, 6, 5, 4, 3, 2}}
			exs := make([]data.Example, len(inputs))
			for i, in := range inputs {
				target := []int{data.UnkID} // an unknown target is never right
				if kind == data.Tagging {
					target = slices.Repeat([]int{data.PadID}, len(in))
					target[0] = data.UnkID
				}
				exs[i] = data.Example{Input: in, Target: target}
			}
			m2, preds, err := ev.Evaluate(exs)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range preds {
				for _, id := range p {
					if id != 4 {
						t.Errorf("Evaluate: example %d predicted %v, want only 4 (the best token after the specials)", i, p)
						break
					}
				}
			}
			if m2.TokenAccuracy != 0 || m2.SequenceAccuracy != 0 {
				t.Errorf("Evaluate: token accuracy %v, sequence accuracy %v on targets of <pad> and <unk>, want 0", m2.TokenAccuracy, m2.SequenceAccuracy)
			}
			got, err := ev.Predict(inputs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, preds, slices.Equal) {
				t.Errorf("Predict = %v, Evaluate predicted %v", got, preds)
			}
		})
	}
}

// TestPredict: a prediction per position for tagging, one per sequence for
// classification, equal to Evaluate's, in order, for more inputs than one
// batch holds and of mixed lengths.
func TestPredict(t *testing.T) {
	for _, kind := range []data.Kind{data.Tagging, data.Classification} {
		t.Run(kind.String(), func(t *testing.T) {
			m := smallModel(t, kind, layers.Sinusoidal)
			ev := NewEvaluator(m)
			defer ev.Close()
			rng := rand.New(rand.NewPCG(5, 6))
			inputs := make([][]int, 2*evalBatch+7)
			exs := make([]data.Example, len(inputs))
			for i := range inputs {
				in := make([]int, 1+rng.IntN(7))
				for j := range in {
					in[j] = 1 + rng.IntN(7) // <unk> included
				}
				inputs[i] = in
				target := []int{2}
				if kind == data.Tagging {
					target = slices.Repeat([]int{2}, len(in))
				}
				exs[i] = data.Example{Input: in, Target: target}
			}
			got, err := ev.Predict(inputs)
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := ev.Evaluate(exs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range inputs {
				n := 1
				if kind == data.Tagging {
					n = len(inputs[i])
				}
				if len(got[i]) != n || !slices.Equal(got[i], want[i]) {
					t.Fatalf("Predict: input %d %v: %v, want %v (Evaluate's, %d tokens)", i, inputs[i], got[i], want[i], n)
				}
			}
		})
	}
}

func TestPredictErrors(t *testing.T) {
	m := smallModel(t, data.Tagging, layers.Learned)
	ev := NewEvaluator(m)
	defer ev.Close()
	tests := []struct {
		name   string
		inputs [][]int
		want   string
	}{
		{"none", nil, "no inputs"},
		{"empty", [][]int{{2}, {}}, "input 1: empty"},
		{"pad", [][]int{{2, data.PadID}}, "input 0: token 1: id 0 outside"},
		{"out of range", [][]int{{2, 8}}, "input 0: token 1: id 8 outside the input vocabulary 2..7"},
		{"negative", [][]int{{-1}}, "id -1 outside"},
		{"too long for learned positions", [][]int{{2}, slices.Repeat([]int{2}, 9)}, "input 1: 9 tokens; the model's learned positions cover 8"},
	}
	for _, tt := range tests {
		_, err := ev.Predict(tt.inputs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Predict(%v) = %v, want an error containing %q", tt.name, tt.inputs, err, tt.want)
		}
		var ie *InputError
		if tt.inputs != nil && !errors.As(err, &ie) {
			t.Errorf("%s: Predict(%v) = %v, want an *InputError", tt.name, tt.inputs, err)
		}
	}
	if _, err := ev.Attention(slices.Repeat([]int{2}, 9)); err == nil || !strings.Contains(err.Error(), "9 tokens") {
		t.Errorf("Attention of 9 tokens with learned positions for 8: %v, want an error", err)
	}
}
