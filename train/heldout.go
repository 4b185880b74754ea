package train

import (
	"fmt"

	"github.com/qkv-dev/qkv/data"
)

// Splits a checkpoint can be evaluated on.
const (
	SplitVal  = "val"
	SplitTest = "test"
)

// Vocabs returns the checkpoint's input and target vocabularies.
func (ck *Checkpoint) Vocabs() (in, out *data.Vocab, err error) {
	if in, err = data.VocabFromTokens(ck.Vocab.In); err != nil {
		return nil, nil, fmt.Errorf("train: %s: %w", ck.Dir, err)
	}
	if out, err = data.VocabFromTokens(ck.Vocab.Out); err != nil {
		return nil, nil, fmt.Errorf("train: %s: %w", ck.Dir, err)
	}
	return in, out, nil
}

// HeldOut regenerates a split of the checkpoint's run exactly as training
// saw it. With length > 0 the test set of a generated task is instead made
// of sequences of exactly that length, which must be longer than any
// training sequence (a length-generalisation test: unseen by construction).
// n > 0 keeps the first n examples.
func (ck *Checkpoint) HeldOut(split string, length, n int) ([]data.Example, error) {
	cfg := ck.Config
	if split != SplitVal && split != SplitTest {
		return nil, fmt.Errorf("train: unknown split %q (want val or test)", split)
	}
	if length > 0 {
		if cfg.Data != "" {
			return nil, fmt.Errorf("train: a length test needs a generated task; this run trained on %s", cfg.Data)
		}
		if length <= cfg.Len {
			return nil, fmt.Errorf("train: length %d is within the training lengths %d..%d, so the model may have seen those sequences; use -split test, or a length above %d", length, cfg.MinLen, cfg.Len, cfg.Len)
		}
		task, err := data.NewTask(cfg.Task, cfg.Symbols)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		count := cfg.TestExamples
		if n > 0 {
			count = n
		}
		sp, err := data.NewSplits(task, data.SplitConfig{Seed: cfg.Seed, MinLen: cfg.MinLen, MaxLen: cfg.Len, Val: 1, Test: count, TestLen: length})
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return sp.Test, nil
	}
	ds, err := NewDataset(cfg)
	if err != nil {
		return nil, err
	}
	exs := ds.Test
	if split == SplitVal {
		exs = ds.Val
	}
	if n > 0 && n < len(exs) {
		exs = exs[:n]
	}
	return exs, nil
}
