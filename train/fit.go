package train

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/optim"
)

// FitOptions are Fit's settings. A zero field whose zero cannot work —
// Batch, Steps, LR, Schedule, Beta1, Beta2, AdamEps, EvalEvery, LogEvery,
// SaveEvery, Keep — takes DefaultFitOptions' value; a zero Warmup, Clip,
// MinLR, WeightDecay or Seed means what it says.
type FitOptions struct {
	Optimization
	Bookkeeping
	// Val, if not empty, is evaluated every EvalEvery steps and at the
	// end; with Dir, the best of those evaluations is kept as a run's is.
	Val []data.Example
	// Dir, if not empty, is a run directory: Fit writes its config,
	// checkpoints and metrics.jsonl there, as Trainer.Run does. A Dir that
	// already holds a Fit run is resumed from its newest checkpoint — the
	// same model architecture, examples and options, Steps and the
	// bookkeeping aside — and continues exactly as if never stopped.
	// Empty: Fit writes nothing.
	Dir string
	// Progress reports steps and validations (see NewProgress); the zero
	// Progress reports nothing.
	Progress Progress
}

// DefaultFitOptions returns the default run's optimisation and
// bookkeeping (see Default), no validation set, and no directory.
func DefaultFitOptions() FitOptions {
	d := Default()
	return FitOptions{Optimization: d.Optimization, Bookkeeping: d.Bookkeeping}
}

// withDefaults fills the zero fields that cannot work from
// DefaultFitOptions.
func (o FitOptions) withDefaults() FitOptions {
	d := DefaultFitOptions()
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	set(&o.Batch, d.Batch)
	set(&o.Steps, d.Steps)
	setF(&o.LR, d.LR)
	if o.Schedule == "" {
		o.Schedule = d.Schedule
	}
	setF(&o.Beta1, d.Beta1)
	setF(&o.Beta2, d.Beta2)
	setF(&o.AdamEps, d.AdamEps)
	set(&o.EvalEvery, d.EvalEvery)
	set(&o.LogEvery, d.LogEvery)
	set(&o.SaveEvery, d.SaveEvery)
	set(&o.Keep, d.Keep)
	return o
}

// Fit trains m on examples of token ids in memory, with AdamW, for
// opts.Steps steps of opts.Batch examples drawn in seeded shuffles (batches
// of similar lengths, each padded to its own length), the loop of
// Trainer.Run: clipping, schedule, dropout and, with opts.Val, validation.
// It leaves m at its last step's weights. Only with opts.Dir does it write
// anything (see FitOptions.Dir). If ctx is cancelled it stops at the next
// step (saving, with a Dir) and returns ErrInterrupted.
//
// Every example's input holds 1 to m's MaxLen ids (any length when MaxLen
// is 0), none of them data.PadID; a tagging example has a target per input
// token, a classification example one. data.Symbols turns plain integers
// into such ids.
func Fit(ctx context.Context, m *Model, examples []data.Example, opts FitOptions) (Result, error) {
	opts = opts.withDefaults()
	mc := m.cfg
	maxLen, err := checkExamples(mc, examples, "example")
	if err != nil {
		return Result{}, err
	}
	valLen, err := checkExamples(mc, opts.Val, "validation example")
	if err != nil {
		return Result{}, err
	}
	if mc.MaxLen == 0 {
		maxLen = max(maxLen, valLen)
	} else {
		maxLen = mc.MaxLen
	}
	if mc.InVocab <= data.FirstID || mc.OutVocab <= data.FirstID {
		return Result{}, fmt.Errorf("train: fit: vocabularies of %d and %d ids hold no token past the reserved %d", mc.InVocab, mc.OutVocab, data.FirstID)
	}
	cfg := Config{
		Examples: examplesSum(examples), Len: maxLen, Architecture: mc.Architecture,
		Optimization: opts.Optimization, Bookkeeping: opts.Bookkeeping, Out: opts.Dir,
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("train: fit: %w", err)
	}
	cfg = cfg.resolve(nil)
	if err := checkTrainingMemory(mc, cfg.Batch, false); err != nil {
		return Result{}, err
	}
	ds := &Dataset{
		Kind: mc.Kind, In: data.Symbols(mc.InVocab - data.FirstID).Vocab(), Out: data.Symbols(mc.OutVocab - data.FirstID).Vocab(),
		Val: opts.Val, MaxLen: maxLen, Bucketed: true,
	}
	if ds.Train, err = data.NewBucketSource(examples, seedFor(cfg.Seed, streamTrainData), cfg.Batch); err != nil {
		return Result{}, fmt.Errorf("train: fit: %w", err)
	}
	t := &Trainer{cfg: cfg, ds: ds, model: m, dir: opts.Dir, progress: opts.Progress, fs: osFiles{}}
	t.vocab = Vocab{Kind: ds.Kind, In: ds.In.Tokens(), Out: ds.Out.Tokens()}
	t.dropPCG = rand.NewPCG(cfg.Seed, seedFor(cfg.Seed, streamDropout))
	if t.opt, err = optim.NewAdam(cfg.adam()); err != nil {
		return Result{}, err
	}
	if opts.Dir != "" {
		if err := t.openFitDir(); err != nil {
			return Result{}, err
		}
	}
	return t.Run(ctx)
}

// openFitDir locks a Fit's run directory and, if it holds a run, resumes
// it.
func (t *Trainer) openFitDir() (err error) {
	if t.lock, err = lockRun(t.dir); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			t.lock.release()
		}
	}()
	if !HasCheckpoint(t.dir) {
		// A fresh run, in a new or empty directory only, as New's.
		if err := checkFresh(t.dir); err != nil {
			return err
		}
		t.lock.marked = true
		return writeDurable(filepath.Join(t.dir, fileRun), runMarkerBytes())
	}
	if err := claim(t.dir); err != nil {
		return err
	}
	ck, err := OpenRun(t.dir, Latest, func(msg string) { t.progress.Printf("train: %s\n", msg) })
	if err != nil {
		return err
	}
	if ck.Config.Examples == "" {
		return fmt.Errorf("train: fit: %s holds a run of a task or data file, not of Fit", t.dir)
	}
	if err := CheckResume(ck.Config, t.cfg); err != nil {
		return fmt.Errorf("%w (resuming %s: were the examples, the model or the options changed?)", err, t.dir)
	}
	if t.cfg.Steps < ck.state.Step {
		return fmt.Errorf("train: fit: steps %d is before the checkpoint's step %d", t.cfg.Steps, ck.state.Step)
	}
	if !equalTokens(t.vocab, ck.Vocab) {
		return fmt.Errorf("train: fit: %s: the vocabulary sizes differ from the model's", ck.Dir)
	}
	return t.restore(ck)
}

// checkExamples reports the first example a model of mc cannot train on,
// and returns the longest input.
func checkExamples(mc ModelConfig, exs []data.Example, what string) (int, error) {
	longest := 0
	for i, ex := range exs {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("train: fit: %s %d: %s", what, i, fmt.Sprintf(format, args...))
		}
		n := len(ex.Input)
		switch {
		case n == 0:
			return 0, bad("empty input")
		case mc.MaxLen > 0 && n > mc.MaxLen:
			return 0, bad("%d tokens; the model takes at most %d (MaxLen)", n, mc.MaxLen)
		case mc.Kind == data.Tagging && len(ex.Target) != n:
			return 0, bad("%d targets for %d inputs (tagging: one per input)", len(ex.Target), n)
		case mc.Kind == data.Classification && len(ex.Target) != 1:
			return 0, bad("%d targets (classification: one)", len(ex.Target))
		}
		for j, id := range ex.Input {
			if id <= data.PadID || id >= mc.InVocab {
				return 0, bad("input %d: id %d outside 1..%d", j, id, mc.InVocab-1)
			}
		}
		for j, id := range ex.Target {
			if id != data.Ignore && (id <= data.PadID || id >= mc.OutVocab) {
				return 0, bad("target %d: id %d outside 1..%d (or data.Ignore)", j, id, mc.OutVocab-1)
			}
		}
		longest = max(longest, n)
	}
	if what == "example" && len(exs) == 0 {
		return 0, fmt.Errorf("train: fit: no examples")
	}
	return longest, nil
}

// examplesSum fingerprints examples: the SHA-256 of every input and
// target, in order.
func examplesSum(exs []data.Example) string {
	h := sha256.New()
	var buf []byte
	put := func(xs []int) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(xs)))
		for _, x := range xs {
			buf = binary.AppendVarint(buf, int64(x))
		}
		h.Write(buf)
	}
	for _, ex := range exs {
		put(ex.Input)
		put(ex.Target)
	}
	return hex.EncodeToString(h.Sum(nil))
}
