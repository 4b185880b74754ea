package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	ExtendEdges   bool // a sweep whose best rate is at an edge of LRs tries one rate beyond it (edgeRate)
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
		CopySteps: 1000, LRs: []float64{1e-4, 1e-3, 1e-2}, ExtendEdges: true, Seeds: 3, TwinSweep: true, TwinSteps: twinSteps,
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
	slots    chan struct{} // one per training run that may run at once
	mu       sync.Mutex    // guards nrun
	nrun     int
	probed   [2]*trained // experiment 1's models of lag<ProbeK>: transformer, LSTM
	tuning   []Tuning    // every sweep, in the order run
	kept     map[string][2]*fit
}

// runStudy runs every experiment at sc, writes the report beside out and
// swaps it in whole; out is closed whatever happens.
func runStudy(ctx context.Context, sc scale, seed uint64, workers int, out *outDir, progress progressFunc) (*Results, error) {
	defer out.close()
	start := time.Now()
	runs, err := os.MkdirTemp("", "qkv-study-runs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(runs) // the study's own scratch directory
	s := &study{ctx: ctx, sc: sc, seed: seed, runs: runs, progress: progress, kept: map[string][2]*fit{},
		slots: make(chan struct{}, workers)}
	res := &Results{Study: reportMarker, Scale: sc.Name, Seed: seed, Cores: numCPU(), Machine: machine(), Workers: workers, LRs: sc.LRs, ExtendEdges: sc.ExtendEdges, Seeds: sc.Seeds}
	res.Load[0] = loadAverage()
	res.Optimizer, res.Clip = optimizerName(s.transformer(lagName(1), 1)), s.transformer(lagName(1), 1).Clip
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
func (s *study) train(ctx context.Context, c train.Config) (*trained, error) {
	s.mu.Lock()
	s.nrun++
	c.Out = filepath.Join(s.runs, fmt.Sprintf("%03d-%s-%s", s.nrun, c.Task, c.Model))
	s.mu.Unlock()
	tr, err := train.New(c)
	if err != nil {
		return nil, err
	}
	out := &trained{cfg: tr.Config(), model: tr.Model()}
	r, err := tr.Run(ctx)
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

// sweep is how a fit searches: the rates it tries at the study's seed,
// whether it tries one rate beyond the grid when the best is at its edge
// (edgeRate), the seeds it then trains and the validation score it
// chooses by (higher is better; token accuracy when nil, then lower
// validation loss).
type sweep struct {
	lrs    []float64
	extend bool
	seeds  int
	score  func(*trained) float64
}

// sweepOf is the study's own sweep at its scale.
func (s *study) sweepOf(score func(*trained) float64) sweep {
	return sweep{lrs: s.sc.LRs, extend: s.sc.ExtendEdges, seeds: s.sc.Seeds, score: score}
}

// matched fits, as every experiment does, tc's transformer and the LSTM
// of matched size on the same task (recording the match in res.Models),
// each with the study's sweep.
func (s *study) matched(res *Results, tc train.Config) ([2]*fit, error) {
	lc, match, err := s.lstm(tc)
	if err != nil {
		return [2]*fit{}, err
	}
	res.Models = append(res.Models, match)
	return s.fitPair(tc, lc, s.sweepOf(nil))
}

// fitPair fits the transformer config tc and the LSTM config lc side by
// side (their runs share the study's slots) and records both sweeps, the
// transformer's first.
func (s *study) fitPair(tc, lc train.Config, sw sweep) ([2]*fit, error) {
	return s.fitEach([2]train.Config{tc, lc}, [2]sweep{sw, sw})
}

// fitEach is fitPair with a sweep of each model's own.
func (s *study) fitEach(cs [2]train.Config, sws [2]sweep) ([2]*fit, error) {
	var fits [2]*fit
	err := together(s.ctx, 2, func(ctx context.Context, i int) error {
		var err error
		fits[i], err = s.fitRates(ctx, cs[i], sws[i])
		return err
	})
	if err != nil {
		return fits, err
	}
	s.tuning = append(s.tuning, fits[0].tuning, fits[1].tuning)
	return fits, nil
}

// fitRates sweeps c's learning rate as sw says and trains the chosen rate
// with sw.seeds seeds; one rate is no sweep. The runs of each stage (the
// grid, the rate beyond its edge, the other seeds) train at once, as many
// as the study's slots allow; which run finishes first changes nothing,
// each being seeded on its own.
func (s *study) fitRates(ctx context.Context, c train.Config, sw sweep) (*fit, error) {
	score := sw.score
	if score == nil {
		score = func(t *trained) float64 { return t.val.TokenAccuracy }
	}
	better := func(a, b *trained) bool {
		return score(a) > score(b) || score(a) == score(b) && a.val.Loss < b.val.Loss
	}
	f := &fit{tuning: Tuning{Task: taskName(c), Model: c.Model.String(), Grid: sw.lrs}}
	at := func(lrs []float64, seed func(int) uint64) []train.Config {
		cs := make([]train.Config, len(lrs))
		for i, lr := range lrs {
			cs[i] = c
			cs[i].LR, cs[i].Seed = lr, seed(i)
		}
		return cs
	}
	studySeed := func(int) uint64 { return s.seed }
	tried, err := s.trainAll(ctx, at(sw.lrs, studySeed))
	if err != nil {
		return nil, err
	}
	best := tried[0]
	for _, t := range tried[1:] {
		if better(t, best) {
			best = t
		}
	}
	if next, ok := edgeRate(sw.lrs, best.cfg.LR); ok && sw.extend {
		t, err := s.trainAll(ctx, at([]float64{next}, studySeed))
		if err != nil {
			return nil, err
		}
		f.tuning.Extended = next
		if next < best.cfg.LR {
			tried = append(t, tried...)
		} else {
			tried = append(tried, t[0])
		}
		if better(t[0], best) {
			best = t[0]
		}
	}
	for _, t := range tried {
		f.tuning.LRs = append(f.tuning.LRs, t.cfg.LR)
		f.tuning.Val = append(f.tuning.Val, score(t))
		f.tuning.ValLoss = append(f.tuning.ValLoss, t.val.Loss)
	}
	f.tuning.Chosen = best.cfg.LR
	f.tuning.Edge = len(tried) > 1 && (best == tried[0] || best == tried[len(tried)-1])
	rest := make([]float64, sw.seeds-1)
	for i := range rest {
		rest[i] = best.cfg.LR
	}
	others, err := s.trainAll(ctx, at(rest, func(i int) uint64 { return s.seed + uint64(i) + 1 }))
	if err != nil {
		return nil, err
	}
	f.runs = append([]*trained{best}, others...)
	return f, nil
}

// edgeRate is the rate one step beyond the edge of grid (ascending, at
// least two rates) that chosen sits on, and whether it sits on one. A
// step is a factor of about 3, half a decade: the 1–3 grid of the
// learning-rate literature (…, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2,
// 1e-1, …), one rule above and below, so 1e-2 extends to 3e-2 and 1e-4 to
// 3e-5.
func edgeRate(grid []float64, chosen float64) (float64, bool) {
	if len(grid) < 2 {
		return 0, false
	}
	up := chosen == grid[len(grid)-1]
	if !up && chosen != grid[0] {
		return 0, false
	}
	e := math.Floor(math.Log10(chosen) + 1e-9) // chosen = m·10^e, 1 ≤ m < 10
	m := chosen / math.Pow(10, e)
	var next float64
	switch {
	case up && m < 3-1e-9:
		next = 3 * math.Pow(10, e)
	case up:
		next = math.Pow(10, e+1)
	case m > 3+1e-9:
		next = 3 * math.Pow(10, e)
	case m > 1+1e-9:
		next = math.Pow(10, e)
	default:
		next = 3 * math.Pow(10, e-1)
	}
	// Printed with %g as written: 3e-05, not 3.0000000000000004e-05.
	next, _ = strconv.ParseFloat(strconv.FormatFloat(next, 'g', 1, 64), 64)
	return next, true
}

// trainAll trains every config, as many at once as the study has slots,
// and returns the runs in the configs' order. The first error (in that
// order) stops the others.
func (s *study) trainAll(ctx context.Context, cs []train.Config) ([]*trained, error) {
	out := make([]*trained, len(cs))
	err := together(ctx, len(cs), func(ctx context.Context, i int) error {
		select { // a slot: one of the runs that may train at once
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.slots }()
		var err error
		out[i], err = s.train(ctx, cs[i])
		return err
	})
	return out, err
}

// together calls f(ctx, i) for i in [0, n) on goroutines of its own and
// waits for all. The first failure cancels ctx for the others; the error
// returned is the one of the lowest i that is not a cancellation it
// caused, so a failure reads the same whatever the order the runs ended in.
func together(parent context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = f(ctx, i); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		switch {
		case err == nil:
		case parent.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, train.ErrInterrupted)):
			if first == nil {
				first = err // unless a real failure caused it, below
			}
		default:
			return err
		}
	}
	return first
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

// optimizerName is c's optimizer as cmd/train prints it, less the
// learning rate, which the study sweeps: "Adam (β₁ 0.9, β₂ 0.99, ε 1e-08)"
// when weight decay is 0, as every study run has it, and "AdamW (weight
// decay …)" only when it is not.
func optimizerName(c train.Config) string {
	name, rest, _ := strings.Cut(c.Optimizer(), ", lr ")
	if _, hyper, ok := strings.Cut(rest, ", "); ok {
		return name + " (" + hyper + ")"
	}
	return name
}
