package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// gradientFlow is experiment 2: the mean norm ‖∂L_j/∂x_i‖ of the gradient
// of the loss at position j with respect to the input at position i,
// against the signed distance j − i, for both models of lag<ProbeK> at
// initialisation and after training, over examples of the task's longest
// length.
func (s *study) gradientFlow(res *Results, pics map[string][]byte) error {
	p := s.progress("2 gradient flow", 4)
	defer p.Done()
	cfg := s.probed[0].cfg
	task, err := data.NewTask(cfg.Task, cfg.Symbols)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(s.seed, 2))
	exs := make([]data.Example, s.sc.ProbeExamples)
	for i := range exs {
		exs[i] = task.Generate(rng, cfg.Len)
	}
	g := &res.Gradients
	g.Task, g.Length, g.Examples = cfg.Task, cfg.Len, len(exs)
	for m, tr := range s.probed {
		after, err := train.NewGradientProbe(tr.model)
		if err != nil {
			return err
		}
		for _, st := range []struct {
			name  string
			probe *train.GradientProbe
		}{{"init", tr.init}, {"trained", after}} {
			c, err := gradCurve(st.probe, exs)
			if err != nil {
				after.Close()
				return err
			}
			c.Model, c.Stage = modelNames[m], st.name
			g.Curves = append(g.Curves, c)
			p.Step(fmt.Sprintf("%s %s: far/near %.2g", c.Model, c.Stage, c.FarToNear))
		}
		after.Close()
		tr.Close()
	}
	png, err := gradientPlot(g)
	if err != nil {
		return err
	}
	pics["gradients.png"] = png
	return nil
}

// gradCurve pools the norms of every example by distance j − i.
func gradCurve(p *train.GradientProbe, exs []data.Example) (GradCurve, error) {
	t := len(exs[0].Input)
	sum := make([]float64, 2*t-1) // index j − i + t − 1
	cnt := make([]int, 2*t-1)
	for _, ex := range exs {
		norms, err := p.Norms(ex)
		if err != nil {
			return GradCurve{}, err
		}
		for j, row := range norms {
			for i, v := range row {
				sum[j-i+t-1] += v
				cnt[j-i+t-1]++
			}
		}
	}
	var c GradCurve
	var near, far float64
	var nNear, nFar int
	for idx := range sum {
		if cnt[idx] == 0 {
			continue
		}
		d := idx - (t - 1)
		c.Distance = append(c.Distance, d)
		c.MeanNorm = append(c.MeanNorm, sum[idx]/float64(cnt[idx]))
		switch a := abs(d); {
		case a <= 1:
			near += sum[idx]
			nNear += cnt[idx]
		case 2*a >= t:
			far += sum[idx]
			nFar += cnt[idx]
		}
	}
	if nNear == 0 || nFar == 0 {
		return c, fmt.Errorf("length %d leaves no near or no far pairs", t)
	}
	c.NearNorm, c.FarNorm = near/float64(nNear), far/float64(nFar)
	c.FarToNear = c.FarNorm / c.NearNorm
	if math.IsNaN(c.FarToNear) || math.IsInf(c.FarToNear, 0) {
		return c, fmt.Errorf("far/near ratio %v (near %v, far %v)", c.FarToNear, c.NearNorm, c.FarNorm)
	}
	return c, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
