package train

import (
	"fmt"
	"math"

	"github.com/qkv-dev/qkv/data"
)

// Alignment scores every attention head against a task's alignment rule:
// for each layer and head, the mean attention weight that a counted target
// position, as the query, puts on its source position (data.Aligner) as
// the key. A head that performs the task's lookup scores near 1, one that
// spreads its weight evenly scores the chance level, the mean of 1/n over
// the same positions (n the example's length, every key the query may
// attend to). It accumulates one example at a time, so held-out sets of
// any size need no more memory than one example's weights.
//
// Positions are pooled: the score is a mean over all scored positions of
// all examples added, not a mean of per-example means, so a long example
// weighs as many positions as it scores.
type Alignment struct {
	aligner data.Aligner
	mass    [][]float64 // [layer][head]: summed weight on the source
	chance  float64     // summed 1/n
	scored  int         // positions scored
}

// NewAlignment returns an empty accumulator scoring against a.
func NewAlignment(a data.Aligner) *Alignment { return &Alignment{aligner: a} }

// Add scores one example's attention weights, w[layer][head][query][key],
// as Evaluator.Attention returns them for ex.Input. Every layer must have
// the same heads, every head a len(ex.Input)×len(ex.Input) matrix, and
// the layers and heads must match earlier examples'. A position is scored
// when its target is counted (not data.Ignore) and the aligner names a
// source for it. A non-finite weight on a source is an error, so a broken
// model cannot hide as a low score.
func (al *Alignment) Add(ex data.Example, w [][][][]float64) error {
	n := len(ex.Input)
	if len(w) == 0 || len(w[0]) == 0 {
		return fmt.Errorf("train: alignment: no attention weights")
	}
	if al.mass == nil {
		al.mass = make([][]float64, len(w))
		for l := range w {
			al.mass[l] = make([]float64, len(w[0]))
		}
	}
	if len(w) != len(al.mass) {
		return fmt.Errorf("train: alignment: %d layers of weights, earlier examples had %d", len(w), len(al.mass))
	}
	for l := range w {
		if len(w[l]) != len(al.mass[l]) {
			return fmt.Errorf("train: alignment: layer %d has %d heads, want %d", l, len(w[l]), len(al.mass[l]))
		}
		for h := range w[l] {
			if len(w[l][h]) != n {
				return fmt.Errorf("train: alignment: layer %d head %d has %d queries for an example of length %d", l, h, len(w[l][h]), n)
			}
			for q := range w[l][h] {
				if len(w[l][h][q]) != n {
					return fmt.Errorf("train: alignment: layer %d head %d query %d has %d keys for an example of length %d", l, h, q, len(w[l][h][q]), n)
				}
			}
		}
	}
	// Check everything before accumulating, so a failed Add leaves the
	// scores as they were.
	var sources []int
	for i := range min(len(ex.Target), n) {
		if ex.Target[i] == data.Ignore {
			continue
		}
		src := al.aligner.SourceOf(ex, i)
		if src < 0 {
			continue
		}
		if src >= n {
			return fmt.Errorf("train: alignment: source %d of position %d outside an example of length %d", src, i, n)
		}
		for l := range w {
			for h := range w[l] {
				if v := w[l][h][i][src]; math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("train: alignment: layer %d head %d: weight %v from position %d to %d", l, h, v, i, src)
				}
			}
		}
		sources = append(sources, i, src)
	}
	for p := 0; p < len(sources); p += 2 {
		i, src := sources[p], sources[p+1]
		for l := range w {
			for h := range w[l] {
				al.mass[l][h] += w[l][h][i][src]
			}
		}
		al.chance += 1 / float64(n)
		al.scored++
	}
	return nil
}

// Positions returns how many query positions have been scored.
func (al *Alignment) Positions() int { return al.scored }

// Scores returns each head's mean weight on the source, [layer][head], or
// nil before any position is scored.
func (al *Alignment) Scores() [][]float64 {
	if al.scored == 0 {
		return nil
	}
	out := make([][]float64, len(al.mass))
	for l := range al.mass {
		out[l] = make([]float64, len(al.mass[l]))
		for h, m := range al.mass[l] {
			out[l][h] = m / float64(al.scored)
		}
	}
	return out
}

// Chance returns the score of a head with uniform weights over the scored
// positions (the mean of 1/n), or NaN before any position is scored.
func (al *Alignment) Chance() float64 {
	if al.scored == 0 {
		return math.NaN()
	}
	return al.chance / float64(al.scored)
}

// Best returns the highest-scoring head, the first in layer-then-head
// order on ties, or (-1, -1, NaN) before any position is scored.
func (al *Alignment) Best() (layer, head int, score float64) {
	layer, head, score = -1, -1, math.NaN()
	for l, row := range al.Scores() {
		for h, s := range row {
			if layer < 0 || s > score {
				layer, head, score = l, h, s
			}
		}
	}
	return layer, head, score
}

// MeasureAlignment scores the attention of every example of exs, as
// attention (typically an Evaluator's Attention method) returns it for
// each input, against a.
func MeasureAlignment(attention func(input []int) ([][][][]float64, error), exs []data.Example, a data.Aligner) (*Alignment, error) {
	al := NewAlignment(a)
	for i, ex := range exs {
		w, err := attention(ex.Input)
		if err != nil {
			return nil, fmt.Errorf("train: alignment: example %d: %w", i, err)
		}
		if err := al.Add(ex, w); err != nil {
			return nil, fmt.Errorf("%w (example %d)", err, i)
		}
	}
	return al, nil
}
