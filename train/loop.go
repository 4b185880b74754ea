package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/nn"
	"github.com/qkv-dev/qkv/optim"
)

// ErrInterrupted is returned by Run when its context is cancelled: the run
// stopped at a step boundary and saved a checkpoint, or, cancelled while it
// was still setting up, stopped before its first step and saved nothing
// (its Result is zero).
var ErrInterrupted = errors.New("training interrupted")

// ErrNonFinite is returned by Run when the loss, the gradient norm or the
// validation loss stops being finite. No checkpoint is written for that
// step.
var ErrNonFinite = errors.New("training diverged")

// Result is what a finished run reports.
type Result struct {
	Steps int     // steps done
	Val   Metrics // the last validation, if any
	Test  Metrics // the best checkpoint's, on the test set (none for Fit)
	Best  int     // step of the best checkpoint (0: none, as for Fit without validation)
	Dir   string  // the run directory ("" for Fit in memory)
}

// Run trains until cfg.Steps, evaluating, logging and checkpointing on
// schedule, then evaluates the held-out test set. If ctx is cancelled it
// stops at the next step boundary, saves and returns ErrInterrupted. If
// ctx is done while the run is still setting up (building its graphs), Run
// returns a zero Result and an error wrapping both ErrInterrupted and
// ctx's cause, having saved nothing.
//
// However the run ends once set up — finished, interrupted, stopped by a
// non-finite loss or by any other error — Run draws its metrics into
// CurvesFile in the run directory (drawCurves).
func (t *Trainer) Run(ctx context.Context) (res Result, err error) {
	defer t.close()
	if err := t.setup(ctx); err != nil {
		return res, err
	}
	defer func() { t.drawCurves(err) }() // before close releases the run directory
	// Validation and the final test stop between batches at a signal.
	t.stop = func() error {
		if t.evalHook != nil {
			t.evalHook()
		}
		return ctx.Err()
	}
	t.eval.stop = t.stop
	defer func() { t.eval.stop = nil }()
	t.progress.Start(t.st.Step, t.cfg.Steps)
	// A run stopped inside a validation saved its step unvalidated: validate
	// it now, as the uninterrupted run did.
	if s := t.st.Step; s > 0 && !t.st.Evaluated && len(t.ds.Val) > 0 && (s%t.cfg.EvalEvery == 0 || s == t.cfg.Steps) {
		if err := t.validate(); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return t.result(), ErrInterrupted
			}
			return res, err
		}
	}
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
		if !finite(loss) {
			return res, t.diverged(step, fmt.Sprintf("loss %v is not finite", loss))
		}
		if !finite(norm) {
			return res, t.diverged(step, fmt.Sprintf("gradient norm %v is not finite (loss %.4g)", norm, loss))
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
		if (step%t.cfg.EvalEvery == 0 || step == t.cfg.Steps) && len(t.ds.Val) > 0 {
			if err := t.validate(); err != nil {
				if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
					// Stopped inside validation: the step is done, so save
					// it; resuming validates it again (Evaluated is false).
					if _, err := t.save(); err != nil {
						return res, err
					}
					return t.result(), ErrInterrupted
				}
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
	// The last step is saved. A signal now stops the test evaluation's
	// report, as it would stop a step: the run says it was interrupted,
	// and resuming it (no steps left) runs the test.
	if ctx.Err() != nil {
		return t.result(), ErrInterrupted
	}
	res, err = t.finish()
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		return t.result(), ErrInterrupted
	}
	return res, err
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// diverged is ErrNonFinite at step, saying what was not finite and what
// of the run is left.
func (t *Trainer) diverged(step int, what string) error {
	err := fmt.Errorf("train: step %d: %s: %w", step, what, ErrNonFinite)
	switch {
	case t.dir == "": // Fit in memory: nothing saved to speak of
		return err
	case t.saved == "":
		return fmt.Errorf("%w; %s holds no checkpoint: the run diverged before its first save", err, t.dir)
	}
	return fmt.Errorf("%w; the last checkpoint, %s, is intact", err, t.saved)
}

// drawCurves redraws the run's CurvesFile from its metrics.jsonl. The
// picture shows what the run saved and is no part of it: a failure to
// draw, even a panic inside the plotting library, is a warning through the
// Progress, never a change to what Run returns (runErr), and writeDurable
// leaves no temporary file behind. A run that logged nothing yet has
// nothing to draw: stopped by a signal it says nothing, failed it says
// why there is no picture.
func (t *Trainer) drawCurves(runErr error) {
	if t.dir == "" { // Fit in memory
		return
	}
	if fi, err := os.Stat(filepath.Join(t.dir, fileMetrics)); err == nil && fi.Size() == 0 {
		if runErr != nil && !errors.Is(runErr, ErrInterrupted) {
			t.progress.Printf("warning: no %s: the run logged no metrics before it stopped (it logs every %d steps)\n", filepath.Join(t.dir, CurvesFile), t.cfg.LogEvery)
		}
		return
	}
	if err := drawRunCurves(t.dir); err != nil {
		t.progress.Printf("warning: %v (the run itself is saved)\n", err)
	}
}

// drawRunCurves writes dir's CurvesFile, a panic turned into an error.
func drawRunCurves(dir string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: curves %s: drawing panicked: %v", filepath.Join(dir, CurvesFile), r)
		}
	}()
	return WriteCurves(dir, filepath.Join(dir, CurvesFile))
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
	lg, err := t.trainingGraph(padded)
	if err != nil {
		return nil, err
	}
	return lg, lg.batch.Fill(t.drawn)
}

// trainingGraph returns the training graph for batches padded to length
// padded, built on first use.
func (t *Trainer) trainingGraph(padded int) (*lengthGraph, error) {
	if lg, ok := t.graphs[padded]; ok {
		return lg, nil
	}
	g, err := t.model.build(t.cfg.Batch, padded, Training, nil, t.buf)
	if err != nil {
		return nil, err
	}
	b, err := data.NewBatch(t.ds.Kind, t.cfg.Batch, padded)
	if err != nil {
		g.Close()
		return nil, err
	}
	lg := &lengthGraph{graph: g, batch: b}
	t.graphs[padded] = lg
	return lg, nil
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

// setup builds what a run needs and opens the run directory, if it has
// one (a Fit in memory has none).
//
// A ctx done before setup writes anything ends it with an error wrapping
// ctx's cause, and the run directory is left as New left it (Close
// removes that); setup looks at ctx between the graphs it builds. Once it
// writes, a run that ctx stops saves its first checkpoint, at its current
// step.
func (t *Trainer) setup(ctx context.Context) error {
	stopped := func() error {
		if ctx.Err() != nil {
			return fmt.Errorf("train: %w while setting up, before the first step; nothing was saved: %w", ErrInterrupted, context.Cause(ctx))
		}
		return nil
	}
	if err := stopped(); err != nil {
		return err
	}
	t.dropRNG = rand.New(t.dropPCG)
	var err error
	if t.sched, err = t.cfg.schedule(); err != nil {
		return err
	}
	t.graphs = make(map[int]*lengthGraph)
	t.drawn = make([]data.Example, t.cfg.Batch)
	// The training graphs and the validation graph take turns: they share
	// the memory of their op outputs.
	t.buf = nn.NewBuffers()
	t.eval = NewEvaluator(t.model)
	t.eval.buf = t.buf
	// Size the shared buffers now, once, for the larger of the training
	// graph (a generated task's one length; a file's buckets come as they
	// come) and the validation graph: compiled, a graph takes no memory
	// until it runs, and buffers grown from one graph's size to the
	// other's, at the first step or the first validation, would hold the
	// old allocation beside the new. A validation shape that cannot be
	// evaluated is reported where validation runs.
	var progs []*nn.Program
	if !t.ds.Bucketed {
		lg, err := t.trainingGraph(t.ds.MaxLen)
		if err != nil {
			return err
		}
		progs = append(progs, lg.graph.Prog)
		if err := stopped(); err != nil {
			return err
		}
	}
	if b, n, err := t.eval.shape(t.ds.Val); err == nil {
		if g, err := t.eval.graph(b, n, false); err == nil {
			progs = append(progs, g.Prog)
		}
	}
	t.buf.Reserve(progs...)
	t.scratch = make([]float64, t.cfg.Batch*t.ds.MaxLen)
	if err := stopped(); err != nil {
		return err
	}
	if t.dir == "" {
		return nil
	}
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if t.lock != nil {
		t.lock.used = true
	}
	if err := writeDurable(filepath.Join(t.dir, fileConfig), t.cfg.JSON()); err != nil {
		return err
	}
	if t.heldOut != nil {
		if err := writeDurable(filepath.Join(t.dir, fileHeldOut), t.heldOut); err != nil {
			return err
		}
	}
	// A kill between saving a new best checkpoint and writing best.json
	// leaves best.json behind; the checkpoint's own record is the truth.
	if b := t.st.Best; b != nil {
		if on, err := readBest(t.fs, t.dir); err != nil || *on != *b {
			if err := writeBest(t.fs, t.dir, b); err != nil {
				return err
			}
		}
	}
	if err := t.openMetrics(); err != nil {
		return err
	}
	t.probes, err = openProbes(t.dir, t.model, t.ds.Val, t.cfg.Seed, t.st.Step)
	return err
}

func (t *Trainer) close() {
	if t.metrics != nil {
		t.metrics.Close()
	}
	for _, lg := range t.graphs {
		lg.graph.Close()
	}
	if t.eval != nil {
		t.eval.Close()
	}
	t.probes.close()
	t.lock.release()
}

// validate evaluates the validation set, logs it and tracks the best.
func (t *Trainer) validate() error {
	m, _, err := t.eval.Evaluate(t.ds.Val)
	if err != nil {
		return err
	}
	if !finite(m.Loss) {
		return t.diverged(t.st.Step, fmt.Sprintf("validation loss %v is not finite", m.Loss))
	}
	t.st.Val, t.st.Evaluated = m, true
	if err := t.logLine(map[string]any{
		"step": t.st.Step, "eval_loss": m.Loss, "eval_token_accuracy": m.TokenAccuracy, "eval_sequence_accuracy": m.SequenceAccuracy,
	}); err != nil {
		return err
	}
	if err := t.probes.record(t.st.Step, m, t.eval, t.model); err != nil {
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
	if t.dir == "" { // Fit in memory
		return "", nil
	}
	if err := t.lock.check(); err != nil {
		return "", err
	}
	st := t.st
	var err error
	if st.DropoutRNG, err = t.dropPCG.MarshalBinary(); err != nil {
		return "", err
	}
	if st.Data, err = t.ds.Train.MarshalBinary(); err != nil {
		return "", err
	}
	dir, err := saveCheckpoint(t.fs, t.dir, t.cfg, t.vocab, t.model, t.opt.State(), st)
	if err != nil {
		return "", err
	}
	t.saved = dir
	bestStep := -1
	if st.Best != nil {
		bestStep = st.Best.Step
		if bestStep == st.Step {
			if err := writeBest(t.fs, t.dir, st.Best); err != nil {
				return "", err
			}
		}
	}
	return dir, prune(t.fs, t.dir, t.cfg.Keep, bestStep)
}

func (t *Trainer) result() Result {
	r := Result{Steps: t.st.Step, Dir: t.dir}
	if t.st.Evaluated {
		r.Val = t.st.Val
	}
	if t.st.Best != nil {
		r.Best = t.st.Best.Step
	}
	return r
}

// finish evaluates the best checkpoint (by validation metrics) on the
// held-out test set and logs it: the model cmd/eval evaluates by default.
func (t *Trainer) finish() (Result, error) {
	if len(t.ds.Test) == 0 { // Fit has no test set
		return t.result(), nil
	}
	eval, bestStep := t.eval, t.st.Step
	if t.st.Best != nil && t.st.Best.Step != t.st.Step {
		ck, err := LoadCheckpoint(filepath.Join(t.dir, stepDir(t.st.Best.Step)))
		if err != nil {
			return Result{}, err
		}
		eval, bestStep = NewEvaluator(ck.Model), t.st.Best.Step
		eval.stop = t.stop
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
