package main

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/internal/heatmap"
	"github.com/qkv-dev/qkv/train"
)

// shownLen is the length of the example whose maps each task draws.
var shownLen = map[string]int{"reverse": 8, "recall": 12}

// interpretability is experiment 4: on reverse and recall, how much
// attention each of the transformer's heads puts where the task's answer
// comes from (train.Alignment, against chance), with heat maps; and, for
// both models, the same score for the gradient saliency of experiment 2,
// the nearest thing to attention weights an LSTM has.
func (s *study) interpretability(res *Results, pics map[string][]byte) error {
	tasks := []string{"reverse", "recall"}
	p := s.progress("4 interpretability", 3*len(tasks))
	defer p.Done()
	for _, name := range tasks {
		tc := s.transformer(name, s.sc.AttnSteps)
		task, err := data.NewTask(name, tc.Symbols)
		if err != nil {
			return err
		}
		aligner, ok := data.AlignerOf(task)
		if !ok {
			return fmt.Errorf("task %s has no alignment rule", name)
		}
		fits, err := s.matched(res, tc)
		if err != nil {
			return err
		}
		var models [2]*trained // the study's seed at the chosen rate: the one drawn and scored
		for i := range fits {
			models[i] = fits[i].runs[0]
			p.Step(fmt.Sprintf("%s %s %.1f%% (lr %g)", name, modelNames[i], 100*medianOf(values(fits[i], seqAcc)), fits[i].tuning.Chosen))
		}
		s.kept[name] = fits
		exs, err := heldOut(tc, s.sc.AttnExamples)
		if err != nil {
			return err
		}
		in := Interpretation{Task: name, Steps: tc.Steps, Examples: len(exs),
			Sequence: accuracy(fits[0], fits[1], seqAcc),
			Token:    accuracy(fits[0], fits[1], tokenAcc),
		}
		ev := train.NewEvaluator(models[0].model)
		al, err := train.MeasureAlignment(ev.Attention, exs, aligner)
		if err != nil {
			ev.Close()
			return err
		}
		in.Scores, in.Chance, in.Positions = al.Scores(), al.Chance(), al.Positions()
		in.BestLayer, in.BestHead, in.Best = al.Best()

		shown := task.Generate(rand.New(rand.NewPCG(s.seed, 4)), shownLen[name])
		toks := task.InVocab().Decode(shown.Input)
		att, err := ev.Attention(shown.Input)
		ev.Close()
		if err != nil {
			return err
		}
		png, err := heatmap.Attention(att, toks).PNG()
		if err != nil {
			return err
		}
		pics["attention-"+name+".png"] = png

		var sal [2][][]float64
		for i, m := range models {
			score, shownSal, err := saliency(m.model, exs, aligner, shown)
			if err != nil {
				return err
			}
			sal[i] = shownSal
			if i == 0 {
				in.Saliency.Transformer = score
			} else {
				in.Saliency.LSTM = score
			}
		}
		p.Step(fmt.Sprintf("%s: best head %.2f (chance %.2f)", name, in.Best, in.Chance))
		png, err = heatmap.Picture{
			Maps: [][][][]float64{{sal[0], sal[1]}}, Tokens: toks,
			Title: func(_, c int) string { return modelNames[c] },
			X:     "input i", Y: "loss at j",
		}.PNG()
		if err != nil {
			return err
		}
		pics["saliency-"+name+".png"] = png
		res.Interpretability = append(res.Interpretability, in)
	}
	return nil
}

// heldOut returns the first n test examples of c's data set.
func heldOut(c train.Config, n int) ([]data.Example, error) {
	ds, err := train.NewDataset(c)
	if err != nil {
		return nil, err
	}
	return ds.Test[:min(n, len(ds.Test))], nil
}

// saliency scores m's gradient saliency on exs against a, as an attention
// head is scored, and returns the saliency map of shown with each row
// scaled to a largest value of 1, for drawing.
func saliency(m *train.Model, exs []data.Example, a data.Aligner, shown data.Example) (float64, [][]float64, error) {
	probe, err := train.NewGradientProbe(m)
	if err != nil {
		return 0, nil, err
	}
	defer probe.Close()
	al := train.NewAlignment(a)
	for _, ex := range exs {
		w, err := probe.Saliency(ex)
		if err != nil {
			return 0, nil, err
		}
		if err := al.Add(ex, w); err != nil {
			return 0, nil, err
		}
	}
	_, _, score := al.Best()
	w, err := probe.Saliency(shown)
	if err != nil {
		return 0, nil, err
	}
	// Drawn on attention's colour scale, each row's largest value full.
	for _, row := range w[0][0] {
		if top := slices.Max(row); top > 0 {
			for i := range row {
				row[i] /= top
			}
		}
	}
	return score, w[0][0], nil
}
