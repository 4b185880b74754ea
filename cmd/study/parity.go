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
	lc, match, err := s.lstm(tc)
	if err != nil {
		return err
	}
	res.Models = append(res.Models, match)
	nc := &res.NegativeControl
	nc.Task, nc.Steps, nc.TrainMinLen, nc.TrainMaxLen = name, tc.Steps, tc.MinLen, tc.Len
	var evs [2]*train.Evaluator
	for i, c := range []train.Config{tc, lc} {
		m, err := s.train(c, false)
		if err != nil {
			return err
		}
		if i == 0 {
			nc.Test.Transformer = m.test.TokenAccuracy
		} else {
			nc.Test.LSTM = m.test.TokenAccuracy
		}
		evs[i] = train.NewEvaluator(m.model)
		defer evs[i].Close()
		p.Step(fmt.Sprintf("%s %s %.1f%%", name, modelNames[i], 100*m.test.TokenAccuracy))
	}
	task, err := data.NewTask(name, tc.Symbols)
	if err != nil {
		return err
	}
	for _, n := range s.sc.ParityLens {
		rng := rand.New(rand.NewPCG(s.seed, 5_000+uint64(n)))
		exs := make([]data.Example, s.sc.ParityExample)
		for i := range exs {
			exs[i] = task.Generate(rng, n)
		}
		pt := ParityPoint{Len: n}
		for i, ev := range evs {
			m, _, err := ev.Evaluate(exs)
			if err != nil {
				return err
			}
			if i == 0 {
				pt.Token.Transformer, pt.Sequence.Transformer = m.TokenAccuracy, m.SequenceAccuracy
			} else {
				pt.Token.LSTM, pt.Sequence.LSTM = m.TokenAccuracy, m.SequenceAccuracy
			}
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
