package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/qkv-dev/qkv/train"
)

// scale is how much a study trains and measures. Every scale runs the
// same experiments and writes the same report; only sizes differ.
type scale struct {
	Name          string
	Val, Test     int   // held-out examples per run
	LagKs         []int // distances of experiment 1
	LagSteps      int
	ProbeK        int // the lag task whose models experiment 2 probes
	ProbeExamples int
	TimeTs        []int // lengths of experiment 3
	TimeBatch     int
	TimeWarmup    int
	TimeReps      int
	AttnSteps     int // reverse and recall, experiment 4
	AttnExamples  int // examples scored for alignment
	ParitySteps   int
	ParityLens    []int // test lengths of experiment 5, the first the longest trained on
	ParityExample int   // examples per length
}

var (
	full = scale{
		Name: "full", Val: 200, Test: 500,
		LagKs: []int{1, 4, 8, 16, 24}, LagSteps: 1500,
		ProbeK: 8, ProbeExamples: 8,
		TimeTs: []int{8, 16, 32, 64, 128}, TimeBatch: 16, TimeWarmup: 2, TimeReps: 7,
		AttnSteps: 2500, AttnExamples: 100,
		ParitySteps: 2000, ParityLens: []int{12, 16, 24, 32}, ParityExample: 300,
	}
	quick = scale{
		Name: "quick", Val: 100, Test: 200,
		LagKs: []int{1, 8}, LagSteps: 500,
		ProbeK: 8, ProbeExamples: 3,
		TimeTs: []int{8, 32}, TimeBatch: 16, TimeWarmup: 1, TimeReps: 3,
		AttnSteps: 600, AttnExamples: 30,
		ParitySteps: 500, ParityLens: []int{12, 24}, ParityExample: 100,
	}
)

// Model sizes: the transformer every experiment uses; the LSTM's hidden
// size is then chosen per task to match its parameter count.
const (
	tDModel, tHeads, tLayers, tDFF = 32, 4, 2, 64
	lstmLayers                     = 1
	studyLR                        = 3e-3
)

// study is one run of the study: where its runs go and how it reports.
type study struct {
	ctx      context.Context
	sc       scale
	seed     uint64
	runs     string // a temporary directory for the training runs
	progress progressFunc
	nrun     int
	probed   [2]*trained // experiment 1's models of lag<ProbeK>: transformer, LSTM
}

// runStudy runs every experiment at sc, writes the report beside out and
// swaps it in whole; out is closed whatever happens.
func runStudy(ctx context.Context, sc scale, seed uint64, out *outDir, progress progressFunc) (*Results, error) {
	defer out.close()
	start := time.Now()
	runs, err := os.MkdirTemp("", "qkv-study-runs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(runs) // the study's own scratch directory
	s := &study{ctx: ctx, sc: sc, seed: seed, runs: runs, progress: progress}
	res := &Results{Study: reportMarker, Scale: sc.Name, Seed: seed, Cores: numCPU()}
	pics := map[string][]byte{}
	steps := []struct {
		name string
		f    func(*Results, map[string][]byte) error
	}{
		{"1 long-range dependencies (lag)", s.longRange},
		{"2 gradient flow", s.gradientFlow},
		{"3 parallelism", s.parallelism},
		{"4 interpretability (reverse, recall)", s.interpretability},
		{"5 negative control (running parity)", s.parity},
	}
	for _, st := range steps {
		if err := st.f(res, pics); err != nil {
			return nil, fmt.Errorf("experiment %s: %w", st.name, err)
		}
	}
	res.Verdicts = verdicts(res)
	res.WallSeconds = math.Round(time.Since(start).Seconds()*10) / 10
	if err := writeReport(out.aside, res, pics); err != nil {
		return nil, err
	}
	if err := out.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// trained is one finished training run.
type trained struct {
	cfg   train.Config
	model *train.Model
	test  train.Metrics
	// init probes the model as it was before training, when asked for.
	init *train.GradientProbe
}

// transformer returns the study's transformer config for task: the
// task's preset lengths, the study's model, steps and seed.
func (s *study) transformer(task string, steps int) train.Config {
	c, _ := train.Preset(task) // every task the study names has a preset
	c.DModel, c.Heads, c.Layers, c.DFF = tDModel, tHeads, tLayers, tDFF
	c.LR = studyLR
	c.Steps, c.EvalEvery, c.SaveEvery, c.LogEvery, c.Keep = steps, steps, steps, steps, 1
	c.ValExamples, c.TestExamples = s.sc.Val, s.sc.Test
	c.Seed = s.seed
	return c
}

// lstm returns tc with the model replaced by a bidirectional LSTM whose
// hidden size (4 to 256) makes its parameter count closest to tc's
// transformer.
func (s *study) lstm(tc train.Config) (train.Config, Match, error) {
	target, err := countParams(tc)
	if err != nil {
		return train.Config{}, Match{}, err
	}
	c := tc
	c.Model, c.Directions, c.Layers = train.LSTM, 2, lstmLayers
	best, bestN := 0, 0
	for h := 4; h <= 256; h++ {
		c.DModel = h
		n, err := countParams(c)
		if err != nil {
			return train.Config{}, Match{}, err
		}
		if best == 0 || math.Abs(float64(n-target)) < math.Abs(float64(bestN-target)) {
			best, bestN = h, n
		}
		if n > target { // the count grows with h: every larger h is further off
			break
		}
	}
	c.DModel = best
	m := Match{Task: tc.Task, TransformerParams: target, LSTMParams: bestN, LSTMHidden: best,
		RelDiff: float64(bestN-target) / float64(target)}
	return c, m, nil
}

func countParams(c train.Config) (int, error) {
	m, err := train.NewTaskModel(c)
	if err != nil {
		return 0, err
	}
	return m.NumParams(), nil
}

// train runs c to the end in a fresh directory of the study's scratch
// space; with probeInit it also keeps a gradient probe of the initial
// model.
func (s *study) train(c train.Config, probeInit bool) (*trained, error) {
	s.nrun++
	c.Out = filepath.Join(s.runs, fmt.Sprintf("%02d-%s-%s", s.nrun, c.Task, c.Model))
	tr, err := train.New(c)
	if err != nil {
		return nil, err
	}
	out := &trained{cfg: tr.Config(), model: tr.Model()}
	if probeInit {
		if out.init, err = train.NewGradientProbe(tr.Model()); err != nil {
			tr.Close()
			return nil, err
		}
	}
	r, err := tr.Run(s.ctx)
	if err != nil {
		return nil, err
	}
	out.test = r.Test
	return out, nil
}

// Close releases the probe of the initial model.
func (t *trained) Close() {
	if t.init != nil {
		t.init.Close()
	}
}
