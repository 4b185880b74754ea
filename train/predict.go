package train

import (
	"fmt"
	"math"

	"github.com/qkv-dev/qkv/data"
)

// BestToken returns the id of the largest of one row of logits over the
// output vocabulary, leaving out data.PadID and data.UnkID: padding is not
// an answer and "unknown" is no token the user can read, whatever weight a
// model gives them. It is the one rule that turns logits into tokens, for
// metrics and predictions alike. A NaN never wins over a number (all NaN:
// the first real token); a row with nothing past the two specials gives
// data.UnkID.
func BestToken(logits []float64) int {
	const first = max(data.PadID, data.UnkID) + 1
	if len(logits) <= first {
		return data.UnkID
	}
	best := first
	for i := first + 1; i < len(logits); i++ {
		if logits[i] > logits[best] || math.IsNaN(logits[best]) && !math.IsNaN(logits[i]) {
			best = i
		}
	}
	return best
}

// InputError is Predict's error about one of its inputs.
type InputError struct {
	Input int   // index of the input in the list given
	Err   error // what is wrong with it
}

// Error names the input by its index and says what is wrong with it.
func (e *InputError) Error() string { return fmt.Sprintf("train: input %d: %v", e.Input, e.Err) }

// Unwrap returns the problem with the input.
func (e *InputError) Unwrap() error { return e.Err }

// Predict runs each input sequence of token ids through the model and
// returns its prediction: a token per position for tagging, one label for
// classification, chosen by BestToken. Inputs go through the model in the
// same memory-bounded batches as Evaluate. An empty input, an id outside
// the input vocabulary or PadID, or an input longer than learned positions
// cover, is an *InputError.
func (e *Evaluator) Predict(inputs [][]int) ([][]int, error) {
	cfg := e.model.cfg
	if len(inputs) == 0 {
		return nil, fmt.Errorf("train: predict: no inputs")
	}
	if cfg.OutVocab <= 2 {
		return nil, fmt.Errorf("train: predict: the output vocabulary holds nothing but %s and %s", data.PadToken, data.UnkToken)
	}
	exs := make([]data.Example, len(inputs))
	for i, in := range inputs {
		ex, err := e.unscored(in)
		if err != nil {
			return nil, &InputError{Input: i, Err: err}
		}
		exs[i] = ex
	}
	v := cfg.OutVocab
	preds := make([][]int, len(inputs))
	err := e.batches(exs, func(chunk []data.Example, offset int, row func(i, j int) int, logits []float64, _ float64, _ int) {
		for i, ex := range chunk {
			p := make([]int, len(ex.Target))
			for j := range p {
				r := row(i, j)
				p[j] = BestToken(logits[r*v : (r+1)*v])
			}
			preds[offset+i] = p
		}
	})
	if err != nil {
		return nil, err
	}
	return preds, nil
}

// Predict runs each input sequence of token ids through m and returns its
// prediction, as Evaluator.Predict does. It builds its graphs anew on each
// call; to predict many times, keep an Evaluator (NewEvaluator) instead.
func (m *Model) Predict(inputs [][]int) ([][]int, error) {
	e := NewEvaluator(m)
	defer e.Close()
	return e.Predict(inputs)
}

// unscored checks an input sequence and makes it an example with nothing
// to score: every target is ignored, so the loss is unused and the logits
// (or attention weights) are all a run gives.
func (e *Evaluator) unscored(in []int) (data.Example, error) {
	cfg := e.model.cfg
	if len(in) == 0 {
		return data.Example{}, fmt.Errorf("empty")
	}
	if l, ok := e.model.Backbone.(lengthLimited); ok {
		if limit, why := l.maxLen(); limit > 0 && len(in) > limit {
			return data.Example{}, fmt.Errorf("%d tokens; %s %d", len(in), why, limit)
		}
	}
	for j, id := range in {
		if id == data.PadID || id < 0 || id >= cfg.InVocab {
			return data.Example{}, fmt.Errorf("token %d: id %d outside the input vocabulary 2..%d", j, id, cfg.InVocab-1)
		}
	}
	target := []int{data.Ignore}
	if cfg.Kind == data.Tagging {
		target = make([]int, len(in))
		for j := range target {
			target[j] = data.Ignore
		}
	}
	return data.Example{Input: in, Target: target}, nil
}
