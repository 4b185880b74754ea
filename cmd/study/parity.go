package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// parity is experiment 5, the negative control: running parity, which a
// recurrent network computes with one bit of state and self-attention
// struggles with (Hahn, 2020; Bhattamishra et al., 2020; Delétang et al.,
// 2023). Both models train on the preset's lengths and are tested on
// those and on longer sequences.
func (s *study) parity(res *Results, pics map[string][]byte) error {
	const name = "runparity"
	p := s.progress("5 negative control", 2+len(s.sc.ParityLens))
	defer p.Done()
	tc := s.transformer(name, s.sc.ParitySteps)
	nc := &res.NegativeControl
	nc.Task, nc.Steps, nc.TrainMinLen, nc.TrainMaxLen = name, tc.Steps, tc.MinLen, tc.Len
	fits, err := s.matched(res, tc)
	if err != nil {
		return err
	}
	for i := range fits {
		p.Step(fmt.Sprintf("%s %s %.1f%% (lr %g)", name, modelNames[i], 100*medianOf(values(fits[i], tokenAcc)), fits[i].tuning.Chosen))
	}
	s.kept[name] = fits
	nc.Test = accuracy(fits[0], fits[1], tokenAcc)
	task, err := data.NewTask(name, tc.Symbols)
	if err != nil {
		return err
	}
	for _, n := range s.sc.ParityLens {
		pt, err := s.atLength(task, fits, n, s.sc.ParityExample)
		if err != nil {
			return err
		}
		nc.Points = append(nc.Points, pt)
		p.Step(fmt.Sprintf("length %d: %.1f%% / %.1f%%", n, 100*pt.Token.Transformer, 100*pt.Token.LSTM))
	}
	png, err := parityPlot(nc)
	if err != nil {
		return err
	}
	pics["parity.png"] = png
	return nil
}

// atLength scores every seed of both fits on n fresh examples of task of
// length n, the same examples for all, and returns the medians.
func (s *study) atLength(task data.Task, fits [2]*fit, n, examples int) (ParityPoint, error) {
	rng := rand.New(rand.NewPCG(s.seed, 5_000+uint64(n)))
	exs := make([]data.Example, examples)
	for i := range exs {
		exs[i] = task.Generate(rng, n)
	}
	scores := map[*trained]train.Metrics{}
	for _, f := range fits {
		for _, t := range f.runs {
			ev := train.NewEvaluator(t.model)
			m, _, err := ev.Evaluate(exs)
			ev.Close()
			if err != nil {
				return ParityPoint{}, err
			}
			scores[t] = m
		}
	}
	pt := ParityPoint{Len: n}
	pt.Token = accuracy(fits[0], fits[1], func(t *trained) float64 { return scores[t].TokenAccuracy })
	pt.Sequence = accuracy(fits[0], fits[1], func(t *trained) float64 { return scores[t].SequenceAccuracy })
	return pt, nil
}
