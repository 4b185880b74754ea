package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// parallelism is experiment 3: for each length T, the median time of a
// training step (forward, backward, clipping) on a batch of lag1
// sequences of length T, and the sequential depth the architecture
// dictates (train.SequentialDepth), for both models at matched size.
func (s *study) parallelism(res *Results, pics map[string][]byte) error {
	p := s.progress("3 parallelism", 2*len(s.sc.TimeTs))
	defer p.Done()
	pr := &res.Parallelism
	pr.Batch, pr.Reps, pr.Task = s.sc.TimeBatch, s.sc.TimeReps, lagName(1)
	task, err := data.NewTask(pr.Task, 10)
	if err != nil {
		return err
	}
	for _, t := range s.sc.TimeTs {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		tc := s.transformer(pr.Task, 1)
		tc.MinLen, tc.Len = 2, t
		lc, _, err := s.lstm(tc)
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(s.seed, uint64(t)))
		exs := make([]data.Example, pr.Batch)
		for i := range exs {
			exs[i] = task.Generate(rng, t)
		}
		b, err := data.MakeBatch(data.Tagging, exs, pr.Batch, t)
		if err != nil {
			return err
		}
		pt := TimePoint{T: t}
		for i, c := range []train.Config{tc, lc} {
			m, err := train.NewTaskModel(c)
			if err != nil {
				return err
			}
			times, err := train.StepTimes(m, b, s.sc.TimeWarmup, s.sc.TimeReps)
			if err != nil {
				return err
			}
			tm := timing{Median: median(times), Min: ms(times[0]), Max: ms(times[len(times)-1])}
			depth := train.SequentialDepth(m.Config(), t)
			if i == 0 {
				pt.Transformer, pt.TransformerDepth = tm, depth
			} else {
				pt.LSTM, pt.LSTMDepth = tm, depth
			}
			p.Step(fmt.Sprintf("T=%d %s %.1f ms", t, modelNames[i], tm.Median))
		}
		pr.Points = append(pr.Points, pt)
	}
	png, err := timingPlot(pr)
	if err != nil {
		return err
	}
	pics["parallelism.png"] = png
	return nil
}

// median of sorted durations, in milliseconds.
func median(d []time.Duration) float64 {
	n := len(d)
	m := d[n/2]
	if n%2 == 0 {
		m = (d[n/2-1] + d[n/2]) / 2
	}
	return ms(m)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
