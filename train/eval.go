package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/nn"
)

// evalBatch is the largest batch an evaluation graph is built for, however
// much memory would allow.
const evalBatch = 250

// Metrics summarise a model's predictions on a set of examples.
type Metrics struct {
	Loss             float64    `json:"loss"`              // mean cross-entropy per counted target
	TokenAccuracy    float64    `json:"token_accuracy"`    // share of counted targets predicted right
	SequenceAccuracy float64    `json:"sequence_accuracy"` // share of examples with every counted target right
	Examples         int        `json:"examples"`          // examples evaluated
	Targets          int        `json:"targets"`           // counted targets
	PositionAccuracy ByPosition `json:"position_accuracy"` // token accuracy at each position (tagging), up to the last position counted
}

// ByPosition holds a value for each position of a sequence, NaN where
// nothing was counted (lag<k>'s first k positions, all but the last of
// recall); in JSON a NaN is null.
type ByPosition []float64

// MarshalJSON writes the values, null for NaN.
func (b ByPosition) MarshalJSON() ([]byte, error) {
	if b == nil {
		return []byte("null"), nil
	}
	vals := make([]*float64, len(b))
	for i := range b {
		if !math.IsNaN(b[i]) {
			vals[i] = &b[i]
		}
	}
	return json.Marshal(vals)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (b *ByPosition) UnmarshalJSON(text []byte) error {
	var vals []*float64
	if err := json.Unmarshal(text, &vals); err != nil {
		return err
	}
	if vals == nil {
		*b = nil
		return nil
	}
	*b = make(ByPosition, len(vals))
	for i, v := range vals {
		(*b)[i] = math.NaN()
		if v != nil {
			(*b)[i] = *v
		}
	}
	return nil
}

// Evaluator runs a model's forward-only graphs over held-out examples,
// caching one graph per batch shape. It never touches the training graph,
// which would draw dropout masks and compute gradients evaluation does not
// need.
type Evaluator struct {
	model   *Model
	graphs  map[graphKey]*Graph
	scratch []float64
	budget  int64 // bytes one graph may take: EvalMemory
	// fits remembers evalRows per length: sizing a graph builds it, for
	// shapes only, which is cheap but not free.
	fits map[fitKey]int
	// buf, if not nil, holds the graphs' op outputs, shared with graphs
	// that take turns with them (a Trainer's training graphs).
	buf *nn.Buffers
	// stop, if not nil, is checked as an evaluation begins and before each
	// batch: a Trainer's validation or test of a million examples that a
	// signal interrupts stops within a batch, not minutes later. Its error
	// is returned, wrapped.
	stop func() error
	ctx  context.Context // SetContext's, if any
}

// SetContext makes the evaluator stop once ctx is done: Evaluate, Predict
// and Logits between batches (before the first too), Attention and
// Inspect before they begin, each with an error that wraps ctx's cause.
func (e *Evaluator) SetContext(ctx context.Context) { e.ctx = ctx }

// stopped returns ctx's cause, wrapped with what stopped, once
// SetContext's ctx is done.
func (e *Evaluator) stopped(what string) error {
	if e.ctx == nil || e.ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("train: %s: stopped: %w", what, context.Cause(e.ctx))
}

// graphKey names a cached graph: its shape, and whether it reads the
// attention weights back.
type graphKey struct {
	b, t    int
	weights bool
}

// fitKey names a remembered evalRows.
type fitKey struct {
	t       int
	weights bool
	budget  int64
}

// rows is evalRows for e's model and budget.
func (e *Evaluator) rows(t int, weights bool) (int, error) {
	k := fitKey{t, weights, e.budget}
	if r, ok := e.fits[k]; ok {
		return r, nil
	}
	r, err := evalRows(e.model.cfg, t, weights, e.budget)
	if err != nil {
		return 0, err
	}
	if e.fits == nil {
		e.fits = make(map[fitKey]int)
	}
	e.fits[k] = r
	return r, nil
}

// NewEvaluator returns an evaluator of m whose graphs fit EvalMemory.
func NewEvaluator(m *Model) *Evaluator {
	return &Evaluator{model: m, graphs: make(map[graphKey]*Graph), budget: EvalMemory}
}

// graph returns the cached evaluation graph for [b, t], building it once.
func (e *Evaluator) graph(b, t int, weights bool) (*Graph, error) {
	key := graphKey{b, t, weights}
	if g, ok := e.graphs[key]; ok {
		return g, nil
	}
	kind := Evaluation
	if weights {
		kind = EvaluationWithWeights
	}
	g, err := e.model.build(b, t, kind, nil, e.buf)
	if err != nil {
		return nil, err
	}
	e.graphs[key] = g
	return g, nil
}

// Close releases every cached graph.
func (e *Evaluator) Close() error {
	var first error
	for k, g := range e.graphs {
		if err := g.Close(); err != nil && first == nil {
			first = err
		}
		delete(e.graphs, k)
	}
	return first
}

// shape returns the batch shape used for exs: every batch as long as the
// longest example, and as many rows as fit the memory budget, at most
// evalBatch. It is the same rule everywhere, so training-time validation
// and cmd/eval compute identical numbers.
func (e *Evaluator) shape(exs []data.Example) (b, t int, err error) {
	for _, ex := range exs {
		t = max(t, len(ex.Input))
	}
	if t == 0 {
		return 0, 0, fmt.Errorf("train: evaluate: empty example")
	}
	rows, err := e.rows(t, false)
	return min(len(exs), rows), t, err
}

// batches runs exs through the model in evaluation batches, calling f with
// each chunk of examples, the row of the logits where example i, position j
// starts (row(i, j)·V), the flat logits and the batch's mean loss and
// counted targets.
func (e *Evaluator) batches(exs []data.Example, f func(chunk []data.Example, offset int, row func(i, j int) int, logits []float64, loss float64, counted int)) error {
	if len(exs) == 0 {
		return fmt.Errorf("train: evaluate: no examples")
	}
	kind := e.model.cfg.Kind
	b, t, err := e.shape(exs)
	if err != nil {
		return err
	}
	g, err := e.graph(b, t, false)
	if err != nil {
		return err
	}
	batch, err := data.NewBatch(kind, b, t)
	if err != nil {
		return err
	}
	if len(e.scratch) < b*t {
		e.scratch = make([]float64, b*t)
	}
	row := func(i, j int) int { return i*t + j } // tagging: a row per position
	if kind == data.Classification {
		row = func(i, _ int) int { return i }
	}
	stop := e.stop
	if stop != nil && stop() != nil {
		// Stopped before this evaluation began (at the step it validates):
		// it runs whole, and the run stops at the next step, as before.
		stop = nil
	}
	for lo := 0; lo < len(exs); lo += b {
		if e.ctx != nil && e.ctx.Err() != nil {
			return fmt.Errorf("train: evaluate: stopped after %d of %d examples: %w", lo, len(exs), context.Cause(e.ctx))
		}
		if stop != nil {
			if err := stop(); err != nil {
				return fmt.Errorf("train: evaluate: stopped after %d of %d examples: %w", lo, len(exs), err)
			}
		}
		chunk := exs[lo:min(lo+b, len(exs))]
		if err := batch.Fill(chunk); err != nil {
			return err
		}
		if err := g.Load(batch, e.scratch); err != nil {
			return err
		}
		if err := g.Prog.Run(); err != nil {
			return err
		}
		f(chunk, lo, row, nn.ToFloat64s(g.Prog.Output(0)), g.Prog.Loss(), batch.Counted())
	}
	return nil
}

// Evaluate computes metrics over exs and returns each example's predictions
// (one per position for tagging, one label for classification), chosen by
// BestToken, so a target the vocabulary does not know (UnkID) is never
// right. The examples go through the model in batches whose graph fits
// EvalMemory; a length of which not one example fits is an error wrapping
// ErrGraphTooLarge. Counts and accuracies do not depend on the batching;
// the loss, a sum of per-batch means, does up to rounding, so every caller
// batches by the same rule.
func (e *Evaluator) Evaluate(exs []data.Example) (Metrics, [][]int, error) {
	var m Metrics
	v := e.model.cfg.OutVocab
	preds := make([][]int, len(exs))
	var posRight, posCount []int
	if e.model.cfg.Kind == data.Tagging {
		t := 0
		for _, ex := range exs {
			t = max(t, len(ex.Input))
		}
		posRight, posCount = make([]int, t), make([]int, t)
	}
	var lossSum float64
	err := e.batches(exs, func(chunk []data.Example, offset int, row func(i, j int) int, logits []float64, loss float64, counted int) {
		lossSum += loss * float64(counted)
		for i, ex := range chunk {
			right := true
			p := make([]int, len(ex.Target))
			for j, target := range ex.Target {
				r := row(i, j)
				p[j] = BestToken(logits[r*v : (r+1)*v])
				if target == data.Ignore {
					continue
				}
				m.Targets++
				ok := p[j] == target
				if ok {
					m.TokenAccuracy++
				} else {
					right = false
				}
				if posCount != nil {
					posCount[j]++
					if ok {
						posRight[j]++
					}
				}
			}
			if right {
				m.SequenceAccuracy++
			}
			preds[offset+i] = p
		}
	})
	if err != nil {
		return m, nil, err
	}
	m.Examples = len(exs)
	if m.Targets > 0 {
		m.Loss = lossSum / float64(m.Targets)
		m.TokenAccuracy /= float64(m.Targets)
	}
	m.SequenceAccuracy /= float64(len(exs))
	// Positions without a count (a lag's first k, all but recall's last)
	// are NaN, not the end of the list.
	last := len(posCount) - 1
	for last >= 0 && posCount[last] == 0 {
		last--
	}
	for j := range posCount[:last+1] {
		acc := math.NaN()
		if posCount[j] > 0 {
			acc = float64(posRight[j]) / float64(posCount[j])
		}
		m.PositionAccuracy = append(m.PositionAccuracy, acc)
	}
	return m, preds, nil
}

// Attention runs one input sequence and returns each layer's attention
// weights, [layer][head][query][key]. The input is checked as Predict
// checks each of its inputs. A model without attention (an LSTM) gives an
// error wrapping ErrNoAttention.
func (e *Evaluator) Attention(input []int) ([][][][]float64, error) {
	if err := e.stopped("attention"); err != nil {
		return nil, err
	}
	ex, err := e.unscored(input)
	if err != nil {
		return nil, fmt.Errorf("train: attention: %w", err)
	}
	t := len(input)
	if _, err := e.rows(t, true); err != nil {
		return nil, err
	}
	g, err := e.graph(1, t, true)
	if err != nil {
		return nil, err
	}
	batch, err := data.MakeBatch(e.model.cfg.Kind, []data.Example{ex}, 1, t)
	if err != nil {
		return nil, err
	}
	if len(e.scratch) < t {
		e.scratch = make([]float64, t)
	}
	if err := g.Load(batch, e.scratch); err != nil {
		return nil, err
	}
	if err := g.Prog.Run(); err != nil {
		return nil, err
	}
	out := make([][][][]float64, g.attention)
	for l := range out {
		o := g.Prog.Output(1 + l) // [1,H,T,T]
		h := o.Shape()[1]
		w := nn.ToFloat64s(o)
		out[l] = make([][][]float64, h)
		for i := range h {
			out[l][i] = make([][]float64, t)
			for q := range t {
				out[l][i][q] = w[(i*t+q)*t : (i*t+q+1)*t]
			}
		}
	}
	return out, nil
}

// Logits runs exs through the model and returns the raw logits of each
// example: [len(Input)][V] for tagging, [1][V] for classification.
func (e *Evaluator) Logits(exs []data.Example) ([][][]float64, error) {
	v := e.model.cfg.OutVocab
	out := make([][][]float64, 0, len(exs))
	err := e.batches(exs, func(chunk []data.Example, _ int, row func(i, j int) int, logits []float64, _ float64, _ int) {
		for i, ex := range chunk {
			rows := make([][]float64, len(ex.Target))
			for j := range rows {
				r := row(i, j)
				rows[j] = logits[r*v : (r+1)*v]
			}
			out = append(out, rows)
		}
	})
	return out, err
}
