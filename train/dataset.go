package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"

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
	Kind    data.Kind      // tagging or classification
	In, Out *data.Vocab    // the input and output vocabularies
	Train   data.Source    // the endless, resumable training stream
	Val     []data.Example // held-out validation examples
	Test    []data.Example // held-out test examples
	MaxLen  int            // longest sequence the model takes: the config's len, resolved
	// Bucketed says Train serves batches of similar lengths, each to be
	// padded only to its own longest example's bucket (see bucketLen).
	Bucketed bool
	// Files fingerprints the files a file run read, in the order data, val,
	// test; nil for a generated task.
	Files []FileStamp
	// Notes are what a user should hear about the data before training:
	// held-out sizes, inputs shared with training, unknown tokens.
	Notes []string
}

// FileStamp identifies the contents of one data file.
type FileStamp struct {
	Role   string `json:"role"`   // data, val or test
	Path   string `json:"path"`   // absolute, as read
	Size   int64  `json:"size"`   // bytes
	SHA256 string `json:"sha256"` // hex digest of the contents
}

// NewDataset makes the data a config describes. Generated tasks draw
// validation and test sets from their own seeded streams and reject any
// training sequence that occurs in them. A data file holds out a seeded
// share (data.HeldOutFraction) of its examples for each of validation and
// test unless Val or Test name files for them, so the test set is never the
// set that chose the best checkpoint.
func NewDataset(c Config) (*Dataset, error) {
	return newDataset(context.Background(), c)
}

// newDataset is NewDataset stopped by ctx: reading a file (a FIFO without
// a writer, a large file) and generating held-out sets return ctx's cause,
// wrapped, soon after it is done.
func newDataset(ctx context.Context, c Config) (*Dataset, error) {
	if c.Examples != "" {
		return nil, errors.New("train: a run of examples in memory has no data to read again: resume it with Fit and the same examples")
	}
	if c.Data != "" {
		return fileDataset(ctx, c)
	}
	task, err := data.NewTask(c.Task, c.Symbols)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := checkHeldOutMemory(c.ValExamples, c.TestExamples, c.Len); err != nil {
		return nil, err
	}
	sp, err := data.NewSplitsContext(ctx, task, data.SplitConfig{
		Seed: c.Seed, MinLen: c.MinLen, MaxLen: c.Len, Val: c.ValExamples, Test: c.TestExamples,
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ds := &Dataset{
		Kind: task.Kind(), In: task.InVocab(), Out: task.OutVocab(),
		Train: sp.Train(seedFor(c.Seed, streamTrainData)), Val: sp.Val, Test: sp.Test, MaxLen: c.Len,
	}
	ds.Notes = append(ds.Notes, fmt.Sprintf("held out: %d validation and %d test examples, generated apart from training (0 inputs shared)", len(ds.Val), len(ds.Test)))
	return ds, nil
}

func fileDataset(ctx context.Context, c Config) (*Dataset, error) {
	ds := &Dataset{}
	fd, err := ds.read(ctx, "data", c.Data, nil)
	if err != nil {
		return nil, err
	}
	ds.Kind, ds.In, ds.Out = fd.Kind, fd.In, fd.Out
	var vf, tf *data.FileData
	if c.Val != "" {
		if vf, err = ds.read(ctx, "val", c.Val, fd); err != nil {
			return nil, err
		}
	}
	if c.Test != "" {
		if tf, err = ds.read(ctx, "test", c.Test, fd); err != nil {
			return nil, err
		}
	}
	valFrac, testFrac := data.HeldOutFraction, data.HeldOutFraction
	if vf != nil {
		valFrac = 0
	}
	if tf != nil {
		testFrac = 0
	}
	train, val, test, err := data.Split(fd.Examples, valFrac, testFrac, c.Seed)
	if err != nil {
		if errors.Is(err, data.ErrTooFewExamples) {
			return nil, fmt.Errorf("train: %s: %w (give more lines, or val and test files)", c.Data, err)
		}
		return nil, fmt.Errorf("train: %s: %w", c.Data, err)
	}
	files := []*data.FileData{fd}
	if vf != nil {
		val = vf.Examples
		files = append(files, vf)
	}
	if tf != nil {
		test = tf.Examples
		files = append(files, tf)
	}
	ds.MaxLen = c.Len
	for _, f := range files {
		if c.Len == 0 {
			ds.MaxLen = max(ds.MaxLen, f.MaxLen)
		} else if err := f.CheckLen(c.Len); err != nil {
			return nil, fmt.Errorf("train: %w (raise len, or set it to 0 for the longest line)", err)
		}
	}
	ds.Val, ds.Test = val, test
	if ds.Train, err = data.NewBucketSource(train, seedFor(c.Seed, streamTrainData), c.Batch); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ds.Bucketed = true
	ds.Notes = append(ds.Notes, fmt.Sprintf("held out: %d validation examples (%s) and %d test examples (%s); %d training examples",
		len(val), heldOutFrom(c.Val, c.Data), len(test), heldOutFrom(c.Test, c.Data), len(train)))
	for _, h := range []struct {
		role string
		f    *data.FileData
	}{{"val", vf}, {"test", tf}} {
		if h.f == nil {
			continue
		}
		if n := data.Overlap(h.f.Examples, train); n > 0 {
			ds.Notes = append(ds.Notes, fmt.Sprintf("%s %s: %d of %d examples have an input that also occurs in training", h.role, h.f.Name, n, len(h.f.Examples)))
		}
		if h.f.Unknown > 0 {
			note := fmt.Sprintf("%s %s: %d of %d tokens are not in the training file's vocabulary and read as %s", h.role, h.f.Name, h.f.Unknown, h.f.Tokens(), data.UnkToken)
			if 2*h.f.Unknown > h.f.Tokens() {
				note = "warning: " + note + "; is it the right file?"
			}
			ds.Notes = append(ds.Notes, note)
		}
	}
	if vf != nil && tf != nil && ds.Files[1].SHA256 == ds.Files[2].SHA256 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("warning: test %s has the same contents as val %s: the test set is the set that chooses the best checkpoint", c.Test, c.Val))
	}
	return ds, nil
}

// read reads one data file, fingerprints it and parses it: as the training
// file when against is nil, else against its vocabularies.
func (ds *Dataset) read(ctx context.Context, role, path string, against *data.FileData) (*data.FileData, error) {
	b, err := data.ReadFileContext(ctx, path, DataFileLimit())
	if errors.Is(err, data.ErrTooLarge) {
		return nil, fmt.Errorf("train: %s: %s is larger than the %s a data file may take: read into examples it takes up to %d times its size, more than the %s this machine has available: %w",
			role, path, formatBytes(DataFileLimit()), dataFileFactor, formatBytes(availableOr(math.MaxInt64)), ErrGraphTooLarge)
	}
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", role, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", role, err)
	}
	sum := sha256.Sum256(b)
	ds.Files = append(ds.Files, FileStamp{Role: role, Path: abs, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
	var fd *data.FileData
	if against == nil {
		fd, err = data.ParseFile(bytes.NewReader(b), path)
	} else {
		fd, err = data.ParseFileAgainst(bytes.NewReader(b), path, against.Kind, against.In, against.Out)
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return fd, nil
}

func heldOutFrom(file, data string) string {
	if file != "" {
		return "from " + file
	}
	return "split from " + data
}

// dataFileFactor bounds the memory a data file takes, read into examples
// and held-out sets, in multiples of its size: a 28 MB file of a million
// short copy examples took qkv-train to a peak RSS of 550 MB, 20 times its
// size, in all; the file and its examples alone take several.
const dataFileFactor = 8

// DataFileLimit is the largest data file (training, validation, test, or
// cmd/eval's -data and -predict) the machine's available memory can hold
// once it is read into examples; a larger one is refused before it is
// read, and a pipe or device (/dev/zero) as soon as it passes it.
func DataFileLimit() int64 { return availableOr(math.MaxInt64) / dataFileFactor }

// seedFor derives the seed of one stream from the run's seed.
func seedFor(seed, stream uint64) uint64 { return seed*0x9e3779b97f4a7c15 + stream }
