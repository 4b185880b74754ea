package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/google/renameio/v2"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/optim"
)

// ErrInterrupted is returned by Run when its context is cancelled: the run
// stopped at a step boundary and saved a checkpoint.
var ErrInterrupted = errors.New("training interrupted")

// ErrNonFinite is returned by Run when the loss or gradient norm stops
// being finite. No checkpoint is written for that step.
var ErrNonFinite = errors.New("non-finite loss")

// window accumulates the training loss between two log lines.
type window struct {
	Loss   float64 `json:"loss"`
	Steps  int     `json:"steps"`
	Tokens int     `json:"tokens"`
}

// Trainer owns one training run: data, model, graphs, optimizer, random
// generators and the run directory.
type Trainer struct {
	cfg      Config
	ds       *Dataset
	vocab    savedVocab
	model    *Model
	graphs   map[int]*lengthGraph // training graphs by padded length
	drawn    []data.Example       // the examples of the next batch
	eval     *Evaluator
	opt      *optim.Adam
	sched    optim.Schedule
	dropPCG  *rand.PCG
	dropRNG  *rand.Rand
	scratch  []float64
	dir      string
	lock     *runLock
	heldOut  []byte // a file run's held-out record, written at its start
	st       state
	metrics  *os.File
	progress Progress
	// Log, if not nil, receives human-readable messages.
	Log io.Writer
}

func (c Config) dtype() tensor.Dtype {
	if c.Dtype == "float64" {
		return tensor.Float64
	}
	return tensor.Float32
}

func (c Config) modelConfig(kind data.Kind, in, out int) (ModelConfig, error) {
	return ModelConfig{
		Kind: kind, InVocab: in, OutVocab: out, MaxLen: c.Len,
		DModel: c.DModel, Heads: c.Heads, Layers: c.Layers, DFF: c.DFF, Dropout: c.Dropout,
		Activation: c.Activation, NormFirst: c.Norm == "pre", Positional: c.Positional, Dtype: c.dtype(),
	}, nil
}

// ErrHoldsRun reports a fresh run asked to start in a directory that
// already holds one.
var ErrHoldsRun = errors.New("already holds a run")

// New starts a fresh run of cfg in cfg.RunDir(), which is created if
// needed and locked (ErrRunInUse if another process holds it) until Run
// returns or Close is called. A directory that already holds checkpoints is
// ErrHoldsRun: resume it, or choose another Out.
func New(cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Nothing is written before the data and the model are known good.
	t, err := newTrainer(cfg)
	if err != nil {
		return nil, err
	}
	dir := cfg.RunDir()
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	if HoldsRun(dir) {
		lock.release()
		return nil, fmt.Errorf("train: %s %w; resume it or choose another directory", dir, ErrHoldsRun)
	}
	t.lock = lock
	if t.ds.Files != nil {
		var sum string
		if t.heldOut, sum, err = encodeHeldOut(t.ds); err != nil {
			lock.release()
			return nil, err
		}
		t.st.HeldOut = sum
	}
	return t, nil
}

// newTrainer builds a run of cfg from scratch: data, initialised model,
// optimizer and generators.
func newTrainer(cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ds, err := NewDataset(cfg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.resolve(ds)
	mc, err := cfg.modelConfig(ds.Kind, ds.In.Size(), ds.Out.Size())
	if err != nil {
		return nil, err
	}
	if err := checkTrainingMemory(mc, cfg.Batch, cfg.Data != ""); err != nil {
		return nil, err
	}
	model, err := NewModel(mc, rand.New(rand.NewPCG(cfg.Seed, seedFor(cfg.Seed, streamInit))))
	if err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, ds: ds, model: model, dir: cfg.RunDir()}
	t.vocab = savedVocab{Kind: ds.Kind, In: ds.In.Tokens(), Out: ds.Out.Tokens()}
	t.dropPCG = rand.NewPCG(cfg.Seed, seedFor(cfg.Seed, streamDropout))
	if t.opt, err = optim.NewAdam(cfg.adam()); err != nil {
		return nil, err
	}
	return t, nil
}

// Resume continues the run whose checkpoint ck was loaded by OpenRun, with
// cfg: the checkpoint's config, in which only steps and the evaluation,
// logging and saving cadence may differ (see CheckResume). It locks the
// run directory as New does, and refuses a checkpoint that is no longer
// the run's newest, or data files that changed since the run started.
func Resume(ck *Checkpoint, cfg Config) (t *Trainer, err error) {
	cfg = cfg.inherit(ck.Config)
	if err := CheckResume(ck.Config, cfg); err != nil {
		return nil, err
	}
	if cfg.Steps < ck.State.Step {
		return nil, fmt.Errorf("train: -steps %d is before the checkpoint's step %d", cfg.Steps, ck.State.Step)
	}
	dir := ck.RunDir()
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()
	if steps, _ := listCheckpoints(dir); len(steps) > 0 && steps[0] > ck.State.Step {
		if _, err := verify(filepath.Join(dir, stepDir(steps[0]))); err == nil {
			return nil, fmt.Errorf("train: %s has a newer checkpoint, %s, than %s: resume the run directory itself", dir, stepDir(steps[0]), ck.Dir)
		}
	}
	if t, err = newTrainer(cfg); err != nil {
		return nil, err
	}
	t.lock = lock
	// A changed data file is named as such before its vocabulary, which
	// a renamed token changes, is compared.
	if cfg.Data != "" {
		if ck.State.HeldOut == "" {
			return nil, fmt.Errorf("train: %s was trained before runs recorded their held-out data; it cannot be resumed exactly (start a new run, or -init-from its model.safetensors)", ck.Dir)
		}
		rec, err := readHeldOut(dir, ck.State.HeldOut)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := rec.checkFiles(t.ds.Files); err != nil {
			return nil, fmt.Errorf("train: %w: resuming would train on other data", err)
		}
	}
	if !equalTokens(t.vocab, ck.Vocab) {
		return nil, fmt.Errorf("train: %s: the vocabulary differs from the data's (did the data file change?)", ck.Dir)
	}
	// The checkpoint's model is verified; take its weights by name.
	src := ck.Model.Params()
	for i, p := range t.model.Params() {
		if err := p.SetFloat64s(src[i].Float64s()); err != nil {
			return nil, err
		}
	}
	if err := t.opt.SetState(ck.Optim, t.model.Params()); err != nil {
		return nil, fmt.Errorf("train: %s: %w", ck.Dir, err)
	}
	if err := t.dropPCG.UnmarshalBinary(ck.State.DropoutRNG); err != nil {
		return nil, fmt.Errorf("train: %s: dropout generator: %w", ck.Dir, err)
	}
	if err := t.ds.Train.UnmarshalBinary(ck.State.Data); err != nil {
		return nil, fmt.Errorf("train: %s: data stream: %w", ck.Dir, err)
	}
	t.st = ck.State
	t.dir = dir
	return t, nil
}

func equalTokens(a, b savedVocab) bool {
	return a.Kind == b.Kind && slices.Equal(a.In, b.In) && slices.Equal(a.Out, b.Out)
}

// inherit takes the values a run resolved when it started (see resolve)
// for the settings c leaves automatic.
func (c Config) inherit(run Config) Config {
	if c.Warmup == AutoWarmup {
		c.Warmup = run.Warmup
	}
	if c.Data != "" && c.Len == 0 {
		c.Len = run.Len
	}
	return c
}

// CheckResume reports a setting of next that contradicts the checkpointed
// run prev. Only steps, the cadence of evaluation, logging and saving, how
// many checkpoints to keep, and the run directory may change.
func CheckResume(prev, next Config) error {
	a, b := prev, next.inherit(prev)
	for _, c := range []*Config{&a, &b} {
		c.Steps, c.EvalEvery, c.LogEvery, c.SaveEvery, c.Keep, c.Out = 0, 0, 0, 0, 0, ""
	}
	if a == b {
		return nil
	}
	var pm, nm map[string]any
	_ = json.Unmarshal(a.JSON(), &pm) // our own JSON: cannot fail
	_ = json.Unmarshal(b.JSON(), &nm)
	for _, k := range sortedKeys(pm, nm) {
		if fmt.Sprint(pm[k]) != fmt.Sprint(nm[k]) {
			return fmt.Errorf("train: %s %v contradicts the checkpoint's %v (only steps, eval-every, log-every, save-every and keep may change on resume)", k, nm[k], pm[k])
		}
	}
	return nil
}

// Config returns the run's resolved configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Model returns the model being trained.
func (t *Trainer) Model() *Model { return t.model }

// Dir returns the run directory.
func (t *Trainer) Dir() string { return t.dir }

// Step returns the number of steps done.
func (t *Trainer) Step() int { return t.st.Step }

// Result is what a finished run reports.
type Result struct {
	Steps int
	Test  Metrics
	Best  int // step of the best checkpoint
	Dir   string
}

// Run trains until cfg.Steps, evaluating, logging and checkpointing on
// schedule, then evaluates the held-out test set. If ctx is cancelled it
// stops at the next step boundary, saves and returns ErrInterrupted.
func (t *Trainer) Run(ctx context.Context) (res Result, err error) {
	if err := t.setup(); err != nil {
		return res, err
	}
	defer t.close()
	t.progress.Start(t.st.Step, t.cfg.Steps)
	runStart := time.Now()
	windowStart, windowFirst := runStart, t.st.Step
	for t.st.Step < t.cfg.Steps {
		if ctx.Err() != nil {
			if _, err := t.save(); err != nil {
				return res, err
			}
			return t.result(), ErrInterrupted
		}
		lg, err := t.nextBatch()
		if err != nil {
			return res, err
		}
		if err := lg.graph.Load(lg.batch, t.scratch); err != nil {
			return res, err
		}
		lg.graph.SampleDropout(t.dropRNG)
		if err := lg.graph.Prog.Run(); err != nil {
			return res, err
		}
		step := t.st.Step + 1
		loss := lg.graph.Prog.Loss()
		grads, params := lg.graph.Prog.Grads(), lg.graph.Params()
		norm := optim.ClipGradNorm(grads, t.cfg.Clip)
		if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(norm) || math.IsInf(norm, 0) {
			return res, fmt.Errorf("train: step %d: loss %v, gradient norm %v: %w; the last checkpoint in %s is intact", step, loss, norm, ErrNonFinite, t.dir)
		}
		lr := t.sched.LR(int64(step))
		if err := t.opt.Step(params, grads, lr); err != nil {
			return res, err
		}
		t.st.Step = step
		t.st.Evaluated = false
		w := &t.st.Window
		w.Loss += loss
		w.Steps++
		w.Tokens += lg.batch.Tokens()
		windowSec := time.Since(windowStart).Seconds()
		tokPerSec := float64(w.Tokens) / windowSec
		if step%t.cfg.LogEvery == 0 {
			mean := w.Loss / float64(w.Steps)
			if err := t.logLine(map[string]any{
				"step": step, "loss": mean, "lr": lr, "grad_norm": norm,
				"tokens_per_sec": round(tokPerSec), "elapsed_sec": round(time.Since(runStart).Seconds()),
			}); err != nil {
				return res, err
			}
			t.progress.Log(step, mean, tokPerSec, float64(step-windowFirst)/windowSec)
			*w = window{}
			windowStart, windowFirst = time.Now(), step
		}
		t.progress.Update(step, loss, tokPerSec)
		if step%t.cfg.EvalEvery == 0 || step == t.cfg.Steps {
			if err := t.validate(); err != nil {
				return res, err
			}
		}
		if step%t.cfg.SaveEvery == 0 || step == t.cfg.Steps {
			if _, err := t.save(); err != nil {
				return res, err
			}
		}
	}
	t.progress.Finish()
	return t.finish()
}

// lengthGraph is the training graph of one padded length, with its batch.
type lengthGraph struct {
	graph *Graph
	batch *data.Batch
}

// nextBatch draws the next batch and returns it loaded into the batch of
// the training graph for its padded length, built on first use. A
// generated task pads every batch to len; a data file's batches come from a
// bucketed source and pad to the bucket of their own longest example.
func (t *Trainer) nextBatch() (*lengthGraph, error) {
	longest := 0
	for i := range t.drawn {
		t.ds.Train.(interface{ NextInto(*data.Example) }).NextInto(&t.drawn[i])
		longest = max(longest, len(t.drawn[i].Input))
	}
	padded := t.ds.MaxLen
	if t.ds.Bucketed {
		padded = bucketLen(longest, t.ds.MaxLen)
	}
	lg, ok := t.graphs[padded]
	if !ok {
		g, err := t.model.Build(t.cfg.Batch, padded, true, false)
		if err != nil {
			return nil, err
		}
		b, err := data.NewBatch(t.ds.Kind, t.cfg.Batch, padded)
		if err != nil {
			g.Close()
			return nil, err
		}
		lg = &lengthGraph{graph: g, batch: b}
		t.graphs[padded] = lg
	}
	return lg, lg.batch.Fill(t.drawn)
}

// bucketLen is the padded length of a batch whose longest example has n
// tokens: the smallest of 8, 16, 24, 40, 64, 96, … (each about 1.5 times
// the last, in multiples of 8) that holds n, at most maxLen. Few lengths
// mean few graphs; close lengths mean little padding.
func bucketLen(n, maxLen int) int {
	b := 8
	for b < n {
		b = (b*3/2 + 7) / 8 * 8
	}
	return min(b, maxLen)
}

// setup builds what a run needs and opens the run directory.
func (t *Trainer) setup() error {
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if t.lock != nil {
		t.lock.used = true
	}
	t.dropRNG = rand.New(t.dropPCG)
	var err error
	if t.sched, err = t.cfg.schedule(); err != nil {
		return err
	}
	t.graphs = make(map[int]*lengthGraph)
	t.drawn = make([]data.Example, t.cfg.Batch)
	t.eval = NewEvaluator(t.model)
	t.scratch = make([]float64, t.cfg.Batch*t.ds.MaxLen)
	if err := writeFileAtomic(filepath.Join(t.dir, fileConfig), t.cfg.JSON()); err != nil {
		return err
	}
	if t.heldOut != nil {
		if err := writeFileAtomic(filepath.Join(t.dir, fileHeldOut), t.heldOut); err != nil {
			return err
		}
	}
	// A kill between saving a new best checkpoint and writing best.json
	// leaves best.json behind; the checkpoint's own record is the truth.
	if b := t.st.Best; b != nil {
		if on, err := readBest(t.dir); err != nil || *on != *b {
			if err := writeBest(t.dir, b); err != nil {
				return err
			}
		}
	}
	return t.openMetrics()
}

func (t *Trainer) close() {
	if t.metrics != nil {
		t.metrics.Close()
	}
	for _, lg := range t.graphs {
		lg.graph.Close()
	}
	t.eval.Close()
	t.lock.release()
}

// Close releases the run directory of a trainer whose Run was never
// called; Run releases it itself.
func (t *Trainer) Close() { t.lock.release() }

// Notes returns what a user should hear about the run's data: held-out
// sizes, inputs shared with training, unknown tokens.
func (t *Trainer) Notes() []string { return t.ds.Notes }

// openMetrics opens metrics.jsonl for appending, first dropping any line
// logged after the step being resumed from (a killed run may have logged
// past its last checkpoint), so a resumed run's file equals an
// uninterrupted one's.
func (t *Trainer) openMetrics() error {
	path := filepath.Join(t.dir, "metrics.jsonl")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("train: %w", err)
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var line struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Step == nil {
			break // a torn last line from a kill
		}
		if *line.Step > t.st.Step || t.st.Step == 0 {
			break
		}
		if bytes.Contains(sc.Bytes(), []byte(`"test_loss"`)) {
			continue // a finished run's test line; resuming extends the run
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := writeFileAtomic(path, kept.Bytes()); err != nil {
		return err
	}
	t.metrics, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

func (t *Trainer) logLine(v map[string]any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	if _, err := t.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	return nil
}

// validate evaluates the validation set, logs it and tracks the best.
func (t *Trainer) validate() error {
	m, _, err := t.eval.Evaluate(t.ds.Val)
	if err != nil {
		return err
	}
	if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
		return fmt.Errorf("train: step %d: validation loss %v: %w; the last checkpoint in %s is intact", t.st.Step, m.Loss, ErrNonFinite, t.dir)
	}
	t.st.Val, t.st.Evaluated = m, true
	if err := t.logLine(map[string]any{
		"step": t.st.Step, "eval_loss": m.Loss, "eval_token_accuracy": m.TokenAccuracy, "eval_sequence_accuracy": m.SequenceAccuracy,
	}); err != nil {
		return err
	}
	t.progress.Eval(t.st.Step, m)
	if t.st.Best.better(m) {
		t.st.Best = &best{Step: t.st.Step, SequenceAccuracy: m.SequenceAccuracy, Loss: m.Loss}
		if _, err := t.save(); err != nil {
			return err
		}
	}
	return nil
}

// save writes a checkpoint of the current step, records the best and prunes
// old checkpoints.
func (t *Trainer) save() (string, error) {
	st := t.st
	var err error
	if st.DropoutRNG, err = t.dropPCG.MarshalBinary(); err != nil {
		return "", err
	}
	if st.Data, err = t.ds.Train.MarshalBinary(); err != nil {
		return "", err
	}
	dir, err := saveCheckpoint(t.dir, t.cfg, t.vocab, t.model, t.opt.State(), st)
	if err != nil {
		return "", err
	}
	bestStep := -1
	if st.Best != nil {
		bestStep = st.Best.Step
		if bestStep == st.Step {
			if err := writeBest(t.dir, st.Best); err != nil {
				return "", err
			}
		}
	}
	return dir, prune(t.dir, t.cfg.Keep, bestStep)
}

func (t *Trainer) result() Result {
	r := Result{Steps: t.st.Step, Dir: t.dir}
	if t.st.Best != nil {
		r.Best = t.st.Best.Step
	}
	return r
}

// finish evaluates the best checkpoint (by validation metrics) on the
// held-out test set and logs it: the model cmd/eval evaluates by default.
func (t *Trainer) finish() (Result, error) {
	eval, bestStep := t.eval, t.st.Step
	if t.st.Best != nil && t.st.Best.Step != t.st.Step {
		ck, err := LoadCheckpoint(filepath.Join(t.dir, stepDir(t.st.Best.Step)))
		if err != nil {
			return Result{}, err
		}
		eval, bestStep = NewEvaluator(ck.Model), t.st.Best.Step
		defer eval.Close()
	}
	m, _, err := eval.Evaluate(t.ds.Test)
	if err != nil {
		return Result{}, err
	}
	if err := t.logLine(map[string]any{
		"step": t.st.Step, "best_step": bestStep, "test_loss": m.Loss, "test_token_accuracy": m.TokenAccuracy, "test_sequence_accuracy": m.SequenceAccuracy,
	}); err != nil {
		return Result{}, err
	}
	r := t.result()
	r.Test, r.Best = m, bestStep
	return r, nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := writeRenameio(path, b); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// round keeps timing fields readable.
func round(x float64) float64 { return math.Round(x*10) / 10 }

func sortedKeys(ms ...map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func writeRenameio(path string, b []byte) error { return renameio.WriteFile(path, b, 0o644) }
