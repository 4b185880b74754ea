package explore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// Shown is how many held-out examples a page without inputs shows, at
// most: up to half of them ones the model gets wrong.
const Shown = 6

// Build computes the page of checkpoint ck: for each of inputs (token
// lists), or without one for Shown examples of the held-out test split,
// and for the probe examples of the run's history if it has one. al is the
// heads' alignment as the caller measured it, or nil.
func Build(ck *train.Checkpoint, inputs [][]string, al *Alignment) (*Page, error) {
	return BuildContext(context.Background(), ck, inputs, al)
}

// BuildContext is Build stopped by ctx: generating the held-out set, the
// predictions and each example's weights stop soon after ctx is done,
// with an error that wraps its cause.
func BuildContext(ctx context.Context, ck *train.Checkpoint, inputs [][]string, al *Alignment) (*Page, error) {
	in, out, err := ck.Vocabs()
	if err != nil {
		return nil, err
	}
	mc := ck.Model.Config()
	p := &Page{
		Title: fmt.Sprintf("qkv explorer: %s, step %d", ck.Config.Name(), ck.Step()), Checkpoint: ck.Dir, Step: ck.Step(), Task: ck.Config.Name(),
		Kind: train.ProbeAttention, Layers: mc.Layers, Heads: mc.Heads, DK: mc.DModel / mc.Heads, Alignment: al,
	}
	if !ck.Model.HasAttention() {
		if mc.Kind != data.Tagging {
			return nil, errors.New("explore: a classifier without attention has no gradient saliency to show (it needs a loss at every position)")
		}
		p.Kind, p.Layers, p.Heads, p.DK = train.ProbeSaliency, 1, 1, 0
	}
	ev := train.NewEvaluator(ck.Model)
	defer ev.Close()
	ev.SetContext(ctx)
	w := weigher{ev: ev, page: p}
	if p.Kind == train.ProbeSaliency {
		if w.sal, err = train.NewGradientProbe(ck.Model); err != nil {
			return nil, err
		}
		defer w.sal.Close()
	}

	var exs []data.Example
	var labels []string
	if len(inputs) > 0 {
		for i, toks := range inputs {
			ids, _ := in.Encode(toks)
			exs = append(exs, data.Example{Input: ids})
			labels = append(labels, fmt.Sprintf("input %d", i+1))
		}
	} else {
		all, err := ck.HeldOutContext(ctx, train.SplitTest, 0, 0)
		if err != nil {
			return nil, err
		}
		exs, labels, err = pickHeldOut(ev, all)
		if err != nil {
			return nil, err
		}
	}
	hist, probes, err := history(ck, in)
	if err != nil {
		return nil, err
	}
	p.History = hist
	for i, ex := range probes {
		exs = append(exs, ex)
		labels = append(labels, fmt.Sprintf("probe %d (recorded in training)", i+1))
	}

	ids := make([][]int, len(exs))
	for i, ex := range exs {
		ids[i] = ex.Input
	}
	preds, err := ev.Predict(ids)
	if err != nil {
		var ie *train.InputError
		if errors.As(err, &ie) && len(inputs) > 0 && ie.Input < len(inputs) {
			return nil, fmt.Errorf("explore: -input %q: %v", strings.Join(inputs[ie.Input], " "), ie.Err)
		}
		return nil, fmt.Errorf("explore: %w", err)
	}
	for i, ex := range exs {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("explore: stopped: %w", context.Cause(ctx))
		}
		e := Example{Label: labels[i], Tokens: in.Decode(ex.Input), Predicted: out.Decode(preds[i]), Probe: -1}
		if i >= len(exs)-len(probes) {
			e.Probe = i - (len(exs) - len(probes))
		}
		if ex.Target != nil {
			ok := true
			for j, t := range ex.Target {
				if t == data.Ignore {
					e.Target = append(e.Target, "_")
					continue
				}
				e.Target = append(e.Target, out.Token(t))
				ok = ok && preds[i][j] == t
			}
			e.Correct = &ok
		}
		if err := w.fill(&e, ex, preds[i]); err != nil {
			return nil, err
		}
		p.Examples = append(p.Examples, e)
	}
	return p, nil
}

// pickHeldOut evaluates exs and returns up to Shown of them: the first
// wrong ones, half of them where there are enough right ones, then the
// first right ones.
func pickHeldOut(ev *train.Evaluator, exs []data.Example) ([]data.Example, []string, error) {
	if len(exs) == 0 {
		return nil, nil, errors.New("explore: the test split is empty")
	}
	_, preds, err := ev.Evaluate(exs)
	if err != nil {
		return nil, nil, err
	}
	var wrong, right []int
	for i, ex := range exs {
		ok := true
		for j, t := range ex.Target {
			if t != data.Ignore && preds[i][j] != t {
				ok = false
			}
		}
		if !ok && len(wrong) < Shown {
			wrong = append(wrong, i)
		} else if ok && len(right) < Shown {
			right = append(right, i)
		}
	}
	// Half wrong if there are enough of each, else more of the other.
	r := min(len(right), Shown-min(len(wrong), Shown/2))
	picked := append(wrong[:min(len(wrong), Shown-r)], right[:r]...)
	var out []data.Example
	var labels []string
	for _, i := range picked {
		out = append(out, exs[i])
		labels = append(labels, fmt.Sprintf("test %d", i+1))
	}
	return out, labels, nil
}

// history reads the run's probes file: nil for a run made before runs
// recorded one.
func history(ck *train.Checkpoint, in *data.Vocab) (*History, []data.Example, error) {
	ph, err := train.ReadProbes(ck.RunDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if len(ph.Records) == 0 {
		return nil, nil, nil
	}
	h := &History{}
	var exs []data.Example
	for _, pe := range ph.Header.Examples {
		exs = append(exs, data.Example{Input: pe.Input, Target: pe.Target})
		h.Examples = append(h.Examples, strings.Join(in.Decode(pe.Input), " "))
	}
	var w []byte
	for _, r := range ph.Records {
		h.Steps = append(h.Steps, r.Step)
		h.Loss = append(h.Loss, r.Loss)
		h.TokenAccuracy = append(h.TokenAccuracy, r.TokenAccuracy)
		h.SequenceAccuracy = append(h.SequenceAccuracy, r.SequenceAccuracy)
		w = append(w, r.Weights...)
	}
	h.Weights = base64.StdEncoding.EncodeToString(w)
	return h, exs, nil
}

// weigher computes an example's weights: attention, queries and keys for a
// transformer, gradient saliency for a model without attention (an LSTM, a GRU).
type weigher struct {
	ev   *train.Evaluator
	sal  *train.GradientProbe
	page *Page
}

func (w weigher) fill(e *Example, ex data.Example, pred []int) error {
	if w.sal == nil {
		ins, err := w.ev.Inspect(ex.Input)
		if err != nil {
			return err
		}
		e.Weights, e.Q, e.K = Float32s(Flatten(ins.Weights)), Float32s(Flatten(ins.Q)), Float32s(Flatten(ins.K))
		return nil
	}
	// Saliency needs a loss at each position: the target's, or for an
	// input without one, the model's own prediction's.
	if ex.Target == nil {
		ex.Target = pred
	}
	s, err := w.sal.Saliency(ex)
	if err != nil {
		return err
	}
	e.Weights = Float32s(Flatten(s))
	return nil
}
