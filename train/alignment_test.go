package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
)

// fixedSource is an aligner with a known rule, so these tests depend on
// the scoring alone: target i comes from input (i+shift) mod n.
type fixedSource struct{ shift int }

func (f fixedSource) SourceOf(ex data.Example, i int) int {
	n := len(ex.Input)
	if i < 0 || i >= n {
		return -1
	}
	return (i + f.shift) % n
}

// headWeights builds one head's [query][key] weights for length n from a
// rule giving each query's row.
func headWeights(n int, row func(q int) []float64) [][]float64 {
	w := make([][]float64, n)
	for q := range w {
		w[q] = row(q)
	}
	return w
}

func oneHot(n, at int) []float64 {
	r := make([]float64, n)
	r[at] = 1
	return r
}

func uniform(n int) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = 1 / float64(n)
	}
	return r
}

// studyWeights returns two layers of three heads for an example of length
// n under rule a: layer 0 is (on the source, uniform, one past the
// source), layer 1 is (uniform, on the source, one past the source). No
// two heads share memory.
func studyWeights(n int, a fixedSource, ex data.Example) [][][][]float64 {
	right := func() [][]float64 {
		return headWeights(n, func(q int) []float64 { return oneHot(n, a.SourceOf(ex, q)) })
	}
	flat := func() [][]float64 { return headWeights(n, func(int) []float64 { return uniform(n) }) }
	wrong := func() [][]float64 {
		return headWeights(n, func(q int) []float64 { return oneHot(n, (a.SourceOf(ex, q)+1)%n) })
	}
	return [][][][]float64{{right(), flat(), wrong()}, {flat(), right(), wrong()}}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// TestAlignmentSynthetic: a one-hot head on the source scores 1, a uniform
// head scores the chance level, a head one position off scores 0; chance
// pools positions (two of length 2 and four of length 4 give 1/3, not the
// per-example mean 3/8); Best finds the right head.
func TestAlignmentSynthetic(t *testing.T) {
	a := fixedSource{shift: 1}
	al := NewAlignment(a)
	for _, n := range []int{2, 4} {
		ex := data.Example{Input: make([]int, n), Target: make([]int, n)}
		for i := range ex.Input {
			ex.Input[i], ex.Target[i] = 2+i, 2+i
		}
		if err := al.Add(ex, studyWeights(n, a, ex)); err != nil {
			t.Fatal(err)
		}
	}
	if al.Positions() != 6 {
		t.Errorf("Positions() = %d, want 6", al.Positions())
	}
	chance := 1.0 / 3
	if !near(al.Chance(), chance) {
		t.Errorf("Chance() = %v, want %v", al.Chance(), chance)
	}
	want := [][]float64{{1, chance, 0}, {chance, 1, 0}}
	got := al.Scores()
	for l := range want {
		for h := range want[l] {
			if !near(got[l][h], want[l][h]) {
				t.Errorf("score of layer %d head %d = %v, want %v (all: %v)", l, h, got[l][h], want[l][h], got)
			}
		}
	}
	if l, h, s := al.Best(); l != 0 || h != 0 || !near(s, 1) {
		t.Errorf("Best() = %d, %d, %v; want 0, 0, 1", l, h, s)
	}
}

// TestAlignmentIgnoresUncounted: positions whose target is Ignore, or that
// the aligner gives no source, are not scored, whatever the head does
// there; a head right only at counted positions scores 1.
func TestAlignmentIgnoresUncounted(t *testing.T) {
	lag, _ := data.NewLag(2, 4)
	a, _ := data.AlignerOf(lag)
	ex := lag.Generate(rand.New(rand.NewPCG(1, 1)), 6) // targets Ignore at 0 and 1
	ex.Target[4] = data.Ignore                         // and, by hand, at 4
	n := len(ex.Input)
	w := headWeights(n, func(q int) []float64 {
		if src := a.SourceOf(ex, q); src >= 0 && ex.Target[q] != data.Ignore {
			return oneHot(n, src)
		}
		return oneHot(n, q) // anywhere but a source
	})
	al := NewAlignment(a)
	if err := al.Add(ex, [][][][]float64{{w}}); err != nil {
		t.Fatal(err)
	}
	if al.Positions() != 3 || !near(al.Scores()[0][0], 1) {
		t.Errorf("scored %d positions at %v; want 3 (positions 2, 3, 5) at 1", al.Positions(), al.Scores())
	}
}

// TestAlignmentErrors: weights that do not fit the example, change shape
// between examples, or are not finite are errors that leave the scores
// unchanged; an empty accumulator reports nothing rather than zeros.
func TestAlignmentErrors(t *testing.T) {
	a := fixedSource{}
	al := NewAlignment(a)
	if al.Scores() != nil || !math.IsNaN(al.Chance()) {
		t.Errorf("empty: Scores %v, Chance %v; want nil, NaN", al.Scores(), al.Chance())
	}
	if l, h, s := al.Best(); l != -1 || h != -1 || !math.IsNaN(s) {
		t.Errorf("empty: Best() = %d, %d, %v", l, h, s)
	}
	ex := data.Example{Input: []int{2, 3, 4}, Target: []int{2, 3, 4}}
	good := studyWeights(3, a, ex)
	if err := al.Add(ex, good); err != nil {
		t.Fatal(err)
	}
	before := al.Scores()
	nan := studyWeights(3, a, ex)
	nan[1][0][2][2] = math.NaN()
	short := studyWeights(3, a, ex)
	short[0][2] = short[0][2][:2]
	narrow := studyWeights(3, a, ex)
	narrow[1][1][0] = narrow[1][1][0][:2]
	tests := []struct {
		name string
		w    [][][][]float64
		want string
	}{
		{"none", nil, "no attention weights"},
		{"one layer", good[:1], "1 layers of weights, earlier examples had 2"},
		{"two heads", [][][][]float64{good[0][:2], good[1][:2]}, "layer 0 has 2 heads, want 3"},
		{"two queries", short, "layer 0 head 2 has 2 queries for an example of length 3"},
		{"two keys", narrow, "layer 1 head 1 query 0 has 2 keys"},
		{"NaN", nan, "layer 1 head 0: weight NaN from position 2 to 2"},
	}
	for _, tt := range tests {
		err := al.Add(ex, tt.w)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Add = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if al.Positions() != 3 || !near(al.Scores()[1][1], before[1][1]) || !near(al.Scores()[0][1], before[0][1]) {
		t.Errorf("failed Adds changed the scores: %v after, %v before", al.Scores(), before)
	}
}

// TestMeasureAlignmentWithModel: the weights of a real (untrained) model,
// as Evaluator.Attention returns them, fit Add without adaptation; on copy
// each head's score is the pooled mean of its diagonal weights, recomputed
// here by hand, and lies in [0, 1]; an error from the attention function
// names the example.
func TestMeasureAlignmentWithModel(t *testing.T) {
	m, err := NewModel(defaultModelConfig(data.Tagging), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(m)
	defer ev.Close()
	task, _ := data.NewTask("copy", 10)
	a, _ := data.AlignerOf(task)
	rng := rand.New(rand.NewPCG(3, 4))
	exs := []data.Example{task.Generate(rng, 5), task.Generate(rng, 9)}
	al, err := MeasureAlignment(ev.Attention, exs, a)
	if err != nil {
		t.Fatal(err)
	}
	var diag [][]float64
	for _, ex := range exs {
		w, _ := ev.Attention(ex.Input)
		if diag == nil {
			diag = make([][]float64, len(w))
			for l := range w {
				diag[l] = make([]float64, len(w[l]))
			}
		}
		for l := range w {
			for h := range w[l] {
				for i := range ex.Input {
					diag[l][h] += w[l][h][i][i] / 14
				}
			}
		}
	}
	for l, row := range al.Scores() {
		for h, s := range row {
			if s < 0 || s > 1 || math.Abs(s-diag[l][h]) > 1e-9 {
				t.Errorf("layer %d head %d: score %v, want the diagonal mean %v in [0, 1]", l, h, s, diag[l][h])
			}
		}
	}
	if want := (5*(1.0/5) + 9*(1.0/9)) / 14; !near(al.Chance(), want) {
		t.Errorf("Chance() = %v, want %v", al.Chance(), want)
	}
	fail := errors.New("no graph")
	_, err = MeasureAlignment(func([]int) ([][][][]float64, error) { return nil, fail }, exs, a)
	if !errors.Is(err, fail) || !strings.Contains(err.Error(), "example 0") {
		t.Errorf("MeasureAlignment with a failing attention = %v", err)
	}
}

// TestAlignmentWithoutAttention: an LSTM has no attention weights to
// score; Attention and MeasureAlignment say so with ErrNoAttention, which
// callers skip quietly.
func TestAlignmentWithoutAttention(t *testing.T) {
	mc := defaultModelConfig(data.Tagging)
	mc.Model, mc.Directions = LSTM, 1
	m, err := NewModel(mc, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(m)
	defer ev.Close()
	task, _ := data.NewTask("copy", 10)
	a, _ := data.AlignerOf(task)
	exs := []data.Example{task.Generate(rand.New(rand.NewPCG(1, 1)), 4)}
	if _, err := ev.Attention(exs[0].Input); !errors.Is(err, ErrNoAttention) {
		t.Errorf("Attention of an LSTM = %v, want ErrNoAttention", err)
	}
	if _, err := MeasureAlignment(ev.Attention, exs, a); !errors.Is(err, ErrNoAttention) {
		t.Errorf("MeasureAlignment of an LSTM = %v, want ErrNoAttention", err)
	}
}
