package main

import (
	"fmt"

	"github.com/qkv-dev/qkv/data"
)

// lengthTasks are experiment 6's tasks: copy is trained here, reverse and
// running parity are experiments 4's and 5's models.
var lengthTasks = []string{"copy", "reverse", "runparity"}

// length is experiment 6: both models, every seed, trained on lengths up
// to N (each task's preset), tested on fresh examples of length N, 3N/2
// and 2N. Sinusoidal positions are defined at any length, so 2N is
// within what the transformer can be given; it has never seen those
// positions.
func (s *study) length(res *Results, pics map[string][]byte) error {
	p := s.progress("6 length generalisation", 2+3*len(lengthTasks))
	defer p.Done()
	fits, err := s.matched(res, s.transformer("copy", s.sc.CopySteps))
	if err != nil {
		return err
	}
	for i := range fits {
		p.Step(fmt.Sprintf("copy %s %.1f%% (lr %g)", modelNames[i], 100*medianOf(values(fits[i], tokenAcc)), fits[i].tuning.Chosen))
	}
	s.kept["copy"] = fits
	for _, name := range lengthTasks {
		fits, ok := s.kept[name]
		if !ok {
			return fmt.Errorf("no models of %s were kept", name)
		}
		c := fits[0].runs[0].cfg
		task, err := data.NewTask(name, c.Symbols)
		if err != nil {
			return err
		}
		g := LengthGen{Task: name, Steps: c.Steps, TrainMinLen: c.MinLen, TrainMaxLen: c.Len}
		for _, n := range []int{c.Len, c.Len * 3 / 2, 2 * c.Len} {
			pt, err := s.atLength(task, fits, n, s.sc.ParityExample)
			if err != nil {
				return err
			}
			g.Points = append(g.Points, pt)
			p.Step(fmt.Sprintf("%s length %d: %.1f%% / %.1f%%", name, n, 100*pt.Token.Transformer, 100*pt.Token.LSTM))
		}
		res.Length = append(res.Length, g)
	}
	return nil
}
