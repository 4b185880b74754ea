package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/qkv-dev/qkv/data"
)

// Splits a checkpoint can be evaluated on.
const (
	SplitVal  = "val"
	SplitTest = "test"
)

// fileHeldOut, in a file run's directory, holds the examples the run held
// out and fingerprints of the files it read. Every checkpoint records its
// SHA-256, so evaluation reads the held-out sets from the run alone, from
// any directory, and a changed or moved data file can never change a
// number silently.
const fileHeldOut = "heldout.json"

// heldOutRecord is the contents of fileHeldOut.
type heldOutRecord struct {
	Files []FileStamp      `json:"files"`
	Val   []heldOutExample `json:"val"`
	Test  []heldOutExample `json:"test"`
}

// heldOutExample is one example as space-separated tokens.
type heldOutExample struct {
	Input  string `json:"input"`
	Target string `json:"target"`
}

// encodeHeldOut returns fileHeldOut's bytes for ds and their SHA-256.
func encodeHeldOut(ds *Dataset) ([]byte, string, error) {
	rec := heldOutRecord{Files: ds.Files}
	for _, set := range []struct {
		exs []data.Example
		dst *[]heldOutExample
	}{{ds.Val, &rec.Val}, {ds.Test, &rec.Test}} {
		*set.dst = make([]heldOutExample, len(set.exs))
		for i, ex := range set.exs {
			(*set.dst)[i] = heldOutExample{
				Input:  strings.Join(ds.In.Decode(ex.Input), " "),
				Target: strings.Join(ds.Out.Decode(ex.Target), " "),
			}
		}
	}
	b, err := json.MarshalIndent(rec, "", " ")
	if err != nil {
		return nil, "", fmt.Errorf("train: held-out record: %w", err)
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// readHeldOut reads the held-out record of run directory dir and checks it
// against the SHA-256 a checkpoint recorded.
func readHeldOut(dir, want string) (*heldOutRecord, error) {
	path := filepath.Join(dir, fileHeldOut)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: it holds this run's held-out examples", path)
	}
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
		return nil, fmt.Errorf("%s does not match the checkpoint's record of it (changed since training)", path)
	}
	var rec heldOutRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rec, nil
}

// pathsFor returns where a resumed run reads its data, val and test files:
// each path as next gives it, which Resume then checks against the record,
// except the run's own path where it names no file from the current
// directory (a relative path, resumed from elsewhere): there the absolute
// path the run read, which the record holds.
func (rec *heldOutRecord) pathsFor(next Config) (data, val, test string) {
	pick := func(role, path string) string {
		if path == "" {
			return ""
		}
		if _, err := os.Stat(path); err == nil {
			return path
		}
		for _, f := range rec.Files {
			if f.Role == role {
				return f.Path
			}
		}
		return path
	}
	return pick("data", next.Data), pick("val", next.Val), pick("test", next.Test)
}

// checkFiles reports the first file of now whose contents differ from the
// record's.
func (rec *heldOutRecord) checkFiles(now []FileStamp) error {
	if len(rec.Files) != len(now) {
		return fmt.Errorf("the run read %d data files, the config names %d", len(rec.Files), len(now))
	}
	for i, was := range rec.Files {
		is := now[i]
		if is.Role == was.Role && is.Path != was.Path && (is.Size != was.Size || is.SHA256 != was.SHA256) {
			return fmt.Errorf("%s file %s is not the file the run read, %s (%d bytes, was %d; SHA-256 %.12s…, was %.12s…)",
				is.Role, is.Path, was.Path, is.Size, was.Size, is.SHA256, was.SHA256)
		}
		if is.Role != was.Role || is.Size != was.Size || is.SHA256 != was.SHA256 {
			return fmt.Errorf("%s file %s changed since the run started (%d bytes, was %d; SHA-256 %.12s…, was %.12s…)",
				is.Role, is.Path, is.Size, was.Size, is.SHA256, was.SHA256)
		}
	}
	return nil
}

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

// RunDir returns the run directory the checkpoint belongs to.
func (ck *Checkpoint) RunDir() string { return filepath.Dir(ck.Dir) }

// HeldOut returns a split of the checkpoint's run exactly as training saw
// it: regenerated for a task, read from the run's held-out record for a
// data file. With length > 0 the test set of a generated task is instead
// made of sequences of exactly that length, which must be longer than any
// training sequence (a length-generalisation test: unseen by
// construction). n > 0 keeps the first n examples.
func (ck *Checkpoint) HeldOut(split string, length, n int) ([]data.Example, error) {
	return ck.HeldOutContext(context.Background(), split, length, n)
}

// HeldOutContext is HeldOut stopped by ctx: generating a large set stops
// soon after ctx is done, with an error that wraps its cause.
func (ck *Checkpoint) HeldOutContext(ctx context.Context, split string, length, n int) ([]data.Example, error) {
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
		if need, avail := heldOutBytes(count, length), availableOr(math.MaxInt64); need > avail || need < 0 {
			return nil, fmt.Errorf("train: %d sequences of length %d need about %s, more than the %s this machine has available; ask for fewer or shorter: %w",
				count, length, formatBytes(need), formatBytes(avail), ErrGraphTooLarge)
		}
		sp, err := data.NewSplitsContext(ctx, task, data.SplitConfig{Seed: cfg.Seed, MinLen: cfg.MinLen, MaxLen: cfg.Len, Val: 1, Test: count, TestLen: length})
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return sp.Test, nil
	}
	var exs []data.Example
	if cfg.Data != "" {
		var err error
		if exs, err = ck.fileHeldOut(split); err != nil {
			return nil, err
		}
	} else {
		ds, err := newDataset(ctx, cfg)
		if err != nil {
			return nil, err
		}
		exs = ds.Test
		if split == SplitVal {
			exs = ds.Val
		}
	}
	if n > 0 && n < len(exs) {
		exs = exs[:n]
	}
	return exs, nil
}

// fileHeldOut reads a split of a file run from its held-out record.
func (ck *Checkpoint) fileHeldOut(split string) ([]data.Example, error) {
	const elsewhere = "evaluate on a file with -data FILE instead"
	if ck.state.HeldOut == "" {
		return nil, fmt.Errorf("train: %s was trained before runs recorded their held-out data (its reported test set was its validation set); %s", ck.Dir, elsewhere)
	}
	rec, err := readHeldOut(ck.RunDir(), ck.state.HeldOut)
	if err != nil {
		return nil, fmt.Errorf("train: %w; %s", err, elsewhere)
	}
	in, out, err := ck.Vocabs()
	if err != nil {
		return nil, err
	}
	set := rec.Test
	if split == SplitVal {
		set = rec.Val
	}
	exs := make([]data.Example, len(set))
	for i, h := range set {
		input, _ := in.Encode(strings.Fields(h.Input))
		target, _ := out.Encode(strings.Fields(h.Target))
		if len(input) == 0 || len(target) == 0 {
			return nil, fmt.Errorf("train: %s: %s example %d is empty; %s", filepath.Join(ck.RunDir(), fileHeldOut), split, i+1, elsewhere)
		}
		exs[i] = data.Example{Input: input, Target: target}
	}
	return exs, nil
}
