package main

import (
	"fmt"

	"github.com/qkv-dev/qkv/data"
)

// lagName is the task name of distance k.
func lagName(k int) string {
	if k == data.LagDefault {
		return "lag"
	}
	return fmt.Sprintf("lag%d", k)
}

// lagSpan is how many lengths past k each lag task's examples range over:
// lengths k+1 … k+lagSpan, so every example scores 1 to lagSpan targets
// whatever k is.
const lagSpan = 16

// longRange is experiment 1: held-out accuracy against the distance k of
// lag<k>, target[i] = input[i−k], for both models. The models of
// lag<ProbeK> are kept, before and after training, for experiment 2.
func (s *study) longRange(res *Results, pics map[string][]byte) error {
	p := s.progress("1 long-range", 2*len(s.sc.LagKs))
	defer p.Done()
	res.LongRange.Steps, res.LongRange.TestExamples = s.sc.LagSteps, s.sc.Test
	for _, k := range s.sc.LagKs {
		tc := s.transformer(lagName(k), s.sc.LagSteps)
		tc.MinLen, tc.Len = k+1, k+lagSpan
		lc, match, err := s.lstm(tc)
		if err != nil {
			return err
		}
		res.Models = append(res.Models, match)
		probe := k == s.sc.ProbeK
		t, err := s.train(tc, probe)
		if err != nil {
			return err
		}
		p.Step(fmt.Sprintf("%s transformer %.1f%%", tc.Task, 100*t.test.TokenAccuracy))
		l, err := s.train(lc, probe)
		if err != nil {
			return err
		}
		p.Step(fmt.Sprintf("%s lstm %.1f%%", tc.Task, 100*l.test.TokenAccuracy))
		if probe {
			s.probed = [2]*trained{t, l}
		}
		res.LongRange.Points = append(res.LongRange.Points, LagPoint{
			K: k, MinLen: tc.MinLen, MaxLen: tc.Len,
			Token:    Accuracy{t.test.TokenAccuracy, l.test.TokenAccuracy},
			Sequence: Accuracy{t.test.SequenceAccuracy, l.test.SequenceAccuracy},
		})
	}
	if s.probed[0] == nil {
		return fmt.Errorf("the probed distance %d is not among %v", s.sc.ProbeK, s.sc.LagKs)
	}
	png, err := longRangePlot(&res.LongRange)
	if err != nil {
		return err
	}
	pics["long-range.png"] = png
	return nil
}

// modelNames name the two models in results and plots, in the order the
// study keeps them.
var modelNames = [2]string{"transformer", "lstm"}
