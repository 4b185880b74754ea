package train

import (
	"fmt"

	"github.com/qkv-dev/qkv/data"
)

// Seed streams: each random source of a run is its own PCG stream of the
// run's seed, so adding one never shifts another.
const (
	streamInit uint64 = iota + 1
	streamTrainData
	streamDropout
)

// Dataset is a run's data: vocabularies, the endless training stream and
// the held-out validation and test sets.
type Dataset struct {
	Kind    data.Kind
	In, Out *data.Vocab
	Train   data.Source
	Val     []data.Example
	Test    []data.Example
	MaxLen  int // longest training sequence: the training graph's T
	Unknown int // unknown tokens met in a validation file
}

// NewDataset makes the data a config describes. Generated tasks draw
// validation and test sets from their own seeded streams and reject any
// training sequence that occurs in them. A data file holds out Val (or a
// seeded share, data.DefaultValFraction, of the file); its test set is the
// same held-out data.
func NewDataset(c Config) (*Dataset, error) {
	if c.Data != "" {
		return fileDataset(c)
	}
	task, err := data.NewTask(c.Task, c.Symbols)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	sp, err := data.NewSplits(task, data.SplitConfig{
		Seed: c.Seed, MinLen: c.MinLen, MaxLen: c.Len, Val: c.ValExamples, Test: c.TestExamples,
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &Dataset{
		Kind: task.Kind(), In: task.InVocab(), Out: task.OutVocab(),
		Train: sp.Train(seedFor(c.Seed, streamTrainData)), Val: sp.Val, Test: sp.Test, MaxLen: c.Len,
	}, nil
}

func fileDataset(c Config) (*Dataset, error) {
	fd, err := data.ReadFile(c.Data)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ds := &Dataset{Kind: fd.Kind, In: fd.In, Out: fd.Out, MaxLen: fd.MaxLen}
	var train []data.Example
	if c.Val != "" {
		train = fd.Examples
		if ds.Val, ds.Unknown, err = data.ReadFileWithVocab(c.Val, fd.Kind, fd.In, fd.Out); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	} else {
		train, ds.Val = data.SplitFile(fd, data.DefaultValFraction, c.Seed)
	}
	if len(train) == 0 || len(ds.Val) == 0 {
		return nil, fmt.Errorf("train: %s: need at least one training and one held-out example, got %d and %d", c.Data, len(train), len(ds.Val))
	}
	ds.Test = ds.Val
	ds.Train = data.NewListSource(train, seedFor(c.Seed, streamTrainData))
	return ds, nil
}

// seedFor derives the seed of one stream from the run's seed.
func seedFor(seed, stream uint64) uint64 { return seed*0x9e3779b97f4a7c15 + stream }
