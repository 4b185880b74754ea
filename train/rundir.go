package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A run directory holds step-NNNNNNNN checkpoints, best.json naming the
// best of them, config.json, metrics.jsonl and, for a file run,
// heldout.json. This file is its policy: listing, choosing the latest or
// the best, falling back past damaged checkpoints, and pruning.

// ErrNoCheckpoint reports a run directory without any loadable checkpoint.
var ErrNoCheckpoint = errors.New("no loadable checkpoint")

// ErrHoldsRun reports a fresh run asked to start in a directory that
// already holds one.
var ErrHoldsRun = errors.New("already holds a run")

// HoldsRun reports whether dir holds a run's checkpoints.
func HoldsRun(dir string) bool {
	steps, err := listCheckpoints(dir)
	return err == nil && len(steps) > 0
}

// stepDir names the checkpoint of a step.
func stepDir(step int) string { return fmt.Sprintf("%s%08d", stepPrefix, step) }

// listCheckpoints returns the steps of the checkpoint directories in dir,
// newest first.
func listCheckpoints(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), stepPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			steps = append(steps, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(steps)))
	return steps, nil
}

// Which checkpoint of a run directory to load.
const (
	Latest = "latest"
	Best   = "best"
)

// OpenRun loads a checkpoint from a run directory: the newest that
// verifies (Latest) or the best by validation metrics (Best). A damaged
// checkpoint is skipped for the next newest; each skip is reported through
// warn. dir may also be a checkpoint directory itself.
func OpenRun(dir, which string, warn func(string)) (*Checkpoint, error) {
	if which != Latest && which != Best {
		return nil, fmt.Errorf("train: unknown checkpoint choice %q (want latest or best)", which)
	}
	if _, err := os.Stat(filepath.Join(dir, fileManifest)); err == nil {
		return LoadCheckpoint(dir)
	}
	steps, err := listCheckpoints(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", dir, unwrapPath(err))
	}
	if which == Best {
		if b, err := readBest(dir); err == nil {
			ck, err := LoadCheckpoint(filepath.Join(dir, stepDir(b.Step)))
			if err == nil {
				return ck, nil
			}
			warn(fmt.Sprintf("best checkpoint is damaged: %v; using the newest good one", err))
		} else if !errors.Is(err, fs.ErrNotExist) {
			warn(fmt.Sprintf("%v; using the newest good checkpoint", err))
		}
	}
	var lastErr error
	for i, step := range steps {
		ck, err := LoadCheckpoint(filepath.Join(dir, stepDir(step)))
		if err == nil {
			if i > 0 {
				warn(fmt.Sprintf("falling back to %s", ck.Dir))
			}
			return ck, nil
		}
		warn(fmt.Sprintf("skipping damaged checkpoint: %v", err))
		lastErr = err
	}
	if lastErr != nil {
		return nil, fmt.Errorf("train: %s: %w (last error: %v)", dir, ErrNoCheckpoint, lastErr)
	}
	return nil, fmt.Errorf("train: %s: %w", dir, ErrNoCheckpoint)
}

func readBest(dir string) (*best, error) {
	path := filepath.Join(dir, fileBest)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var bs best
	if err := json.Unmarshal(b, &bs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &bs, nil
}

func writeBest(dir string, b *best) error {
	j, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return writeDurable(filepath.Join(dir, fileBest), append(j, '\n'))
}

// prune deletes all but the newest keep checkpoints, sparing the best, and
// clears temporary directories left by an interrupted save.
func prune(dir string, keep int, bestStep int) error {
	steps, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	for i, step := range steps {
		if i < keep || step == bestStep {
			continue
		}
		if err := removeDir(filepath.Join(dir, stepDir(step))); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) && e.IsDir() {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// removeDir deletes a checkpoint by renaming it out of sight first, so a
// crash mid-way never leaves a half-deleted directory under a step name.
func removeDir(path string) error {
	trash := filepath.Join(filepath.Dir(path), tmpPrefix+"trash-"+filepath.Base(path))
	if err := os.Rename(path, trash); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return os.RemoveAll(trash)
}
