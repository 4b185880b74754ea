package main

import (
	"fmt"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
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
		fits, err := s.matched(res, tc)
		if err != nil {
			return err
		}
		ft, fl := fits[0], fits[1]
		p.Step(fmt.Sprintf("%s transformer %.1f%% (lr %g)", tc.Task, 100*medianOf(values(ft, tokenAcc)), ft.tuning.Chosen))
		p.Step(fmt.Sprintf("%s lstm %.1f%% (lr %g)", tc.Task, 100*medianOf(values(fl, tokenAcc)), fl.tuning.Chosen))
		if k == s.sc.ProbeK {
			// Experiment 2 probes the study's seed at the chosen rates,
			// and the same models as they were before training: the
			// same seed draws the same initial weights.
			for i, f := range []*fit{ft, fl} {
				t := f.runs[0]
				init, err := train.NewTaskModel(t.cfg)
				if err != nil {
					return err
				}
				if t.init, err = train.NewGradientProbe(init); err != nil {
					return err
				}
				s.probed[i] = t
			}
		}
		res.LongRange.Points = append(res.LongRange.Points, LagPoint{
			K: k, MinLen: tc.MinLen, MaxLen: tc.Len,
			Token:    accuracy(ft, fl, tokenAcc),
			Sequence: accuracy(ft, fl, seqAcc),
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

// values is x of each of f's seeds.
func values(f *fit, x func(*trained) float64) []float64 {
	_, v := f.medians(x)
	return v
}
