package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	CopySteps     int   // copy, experiment 6 (reverse and running parity come from 4 and 5)
	LRs           []float64
	Seeds         int  // seeds of every final configuration, the study's seed first
	TwinSweep     bool // experiment 7 sweeps and seeds as the others do; else the rates PyTorch chose, one seed
	TwinSteps     int  // twinSteps, as PyTorch's twins trained; fewer only in tests
}

var (
	full = scale{
		Name: "full", Val: 200, Test: 500,
		LagKs: []int{1, 4, 8, 16, 24}, LagSteps: 1500,
		ProbeK: 8, ProbeExamples: 8,
		TimeTs: []int{8, 16, 32, 64, 128}, TimeBatch: 16, TimeWarmup: 2, TimeReps: 7,
		AttnSteps: 2500, AttnExamples: 100,
		ParitySteps: 2000, ParityLens: []int{12, 16, 24, 32}, ParityExample: 300,
		CopySteps: 1000, LRs: []float64{1e-4, 1e-3, 1e-2}, Seeds: 3, TwinSweep: true, TwinSteps: twinSteps,
	}
	quick = scale{
		Name: "quick", Val: 100, Test: 200,
		LagKs: []int{1, 8}, LagSteps: 500,
		ProbeK: 8, ProbeExamples: 3,
		TimeTs: []int{8, 32}, TimeBatch: 16, TimeWarmup: 1, TimeReps: 3,
		AttnSteps: 600, AttnExamples: 30,
		ParitySteps: 500, ParityLens: []int{12, 24}, ParityExample: 100,
		CopySteps: 400, LRs: []float64{1e-4, 1e-3, 1e-2}, Seeds: 2, TwinSteps: twinSteps,
	}
)

// Model sizes: the transformer every experiment uses; the LSTM's hidden
// size is then chosen per task to match its parameter count.
const (
	tDModel, tHeads, tLayers, tDFF = 32, 4, 2, 64
	lstmLayers                     = 1
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
	tuning   []Tuning    // every sweep, in the order run
	kept     map[string][2]*fit
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
	s := &study{ctx: ctx, sc: sc, seed: seed, runs: runs, progress: progress, kept: map[string][2]*fit{}}
	res := &Results{Study: reportMarker, Scale: sc.Name, Seed: seed, Cores: numCPU(), Machine: machine(), LRs: sc.LRs, Seeds: sc.Seeds}
	res.Load[0] = loadAverage()
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
		{"6 length generalisation", s.length},
		{"7 PyTorch cross-check", s.crossCheck},
	}
	for _, st := range steps {
		if err := st.f(res, pics); err != nil {
			return nil, fmt.Errorf("experiment %s: %w", st.name, err)
		}
	}
	res.Tuning = s.tuning
	res.Load[1] = loadAverage()
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
	val   train.Metrics // the final model on the validation set
	// init probes the model as it was before training: experiment 1 sets it
	// on the models experiment 2 probes.
	init *train.GradientProbe
}

// transformer returns the study's transformer config for task: the
// task's preset lengths, the study's model, steps and seed.
func (s *study) transformer(task string, steps int) train.Config {
	c, _ := train.Preset(task) // every task the study names has a preset
	c.DModel, c.Heads, c.Layers, c.DFF = tDModel, tHeads, tLayers, tDFF
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
// space and scores the trained model on the validation set too. The run
// validates only at its last step, so its best checkpoint, which the
// test score is of, is the trained model.
func (s *study) train(c train.Config) (*trained, error) {
	s.nrun++
	c.Out = filepath.Join(s.runs, fmt.Sprintf("%02d-%s-%s", s.nrun, c.Task, c.Model))
	tr, err := train.New(c)
	if err != nil {
		return nil, err
	}
	out := &trained{cfg: tr.Config(), model: tr.Model()}
	r, err := tr.Run(s.ctx)
	if err != nil {
		return nil, err
	}
	out.test = r.Test
	if out.val, err = validate(out.model, c); err != nil {
		return nil, err
	}
	return out, nil
}

// validate scores m on c's validation set.
func validate(m *train.Model, c train.Config) (train.Metrics, error) {
	ds, err := train.NewDataset(c)
	if err != nil {
		return train.Metrics{}, err
	}
	ev := train.NewEvaluator(m)
	defer ev.Close()
	got, _, err := ev.Evaluate(ds.Val)
	return got, err
}

// fit is one task and model trained as the study trains every one: a
// sweep of the learning rate at the study's seed, the rate with the best
// validation score chosen, and that configuration trained with every
// seed.
type fit struct {
	runs   []*trained // at the chosen rate, one per seed, the study's seed first
	tuning Tuning
}

// fitOf sweeps c's learning rate over s.sc.LRs, choosing by score (higher
// is better; validation token accuracy when nil, then lower validation
// loss), and trains the chosen rate with s.sc.Seeds seeds.
func (s *study) fitOf(c train.Config, score func(*trained) float64) (*fit, error) {
	return s.fitRates(c, s.sc.LRs, s.sc.Seeds, score)
}

// fitRates is fitOf over the given rates and number of seeds; one rate
// is no sweep.
func (s *study) fitRates(c train.Config, lrs []float64, seeds int, score func(*trained) float64) (*fit, error) {
	if score == nil {
		score = func(t *trained) float64 { return t.val.TokenAccuracy }
	}
	f := &fit{tuning: Tuning{Task: taskName(c), Model: c.Model.String(), LRs: lrs}}
	var best *trained
	for _, lr := range lrs {
		c.LR, c.Seed = lr, s.seed
		t, err := s.train(c)
		if err != nil {
			return nil, err
		}
		f.tuning.Val = append(f.tuning.Val, score(t))
		f.tuning.ValLoss = append(f.tuning.ValLoss, t.val.Loss)
		if best == nil || score(t) > score(best) || score(t) == score(best) && t.val.Loss < best.val.Loss {
			best = t
		}
	}
	f.tuning.Chosen = best.cfg.LR
	f.runs = []*trained{best}
	for i := 1; i < seeds; i++ {
		c.LR, c.Seed = best.cfg.LR, s.seed+uint64(i)
		t, err := s.train(c)
		if err != nil {
			return nil, err
		}
		f.runs = append(f.runs, t)
	}
	s.tuning = append(s.tuning, f.tuning)
	return f, nil
}

// taskName names c's data: the task, or for the cross-check's files the
// task they hold.
func taskName(c train.Config) string {
	if c.Task != "" {
		return c.Task
	}
	return fmt.Sprintf("lag%d (the cross-check's files)", twinK)
}

// medians returns the median of f(run) over a fit's seeds, and the values.
func (f *fit) medians(x func(*trained) float64) (float64, []float64) {
	v := make([]float64, len(f.runs))
	for i, t := range f.runs {
		v[i] = x(t)
	}
	return medianOf(v), v
}

// accuracy is both models' medians of x over seeds, with every seed's value.
func accuracy(t, l *fit, x func(*trained) float64) Accuracy {
	var a Accuracy
	a.Transformer, a.TransformerSeeds = t.medians(x)
	a.LSTM, a.LSTMSeeds = l.medians(x)
	return a
}

func tokenAcc(t *trained) float64 { return t.test.TokenAccuracy }
func seqAcc(t *trained) float64   { return t.test.SequenceAccuracy }

// medianOf returns the median of v, which it leaves unchanged.
func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Close releases the probe of the initial model.
func (t *trained) Close() {
	if t.init != nil {
		t.init.Close()
	}
}
