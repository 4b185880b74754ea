package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// ErrNotRunDir reports a directory that holds files but no run: a fresh
// run does not start there, nor does a run resume into it, so that
// nothing of the user's is written over or deleted.
var ErrNotRunDir = errors.New("is not empty and holds no qkv run")

// fileRun marks a directory as a run that qkv made, and so owns: a fresh
// run writes it first thing into the empty directory it starts in. Only
// in a directory it owns does qkv replace files (config.json,
// metrics.jsonl, curves.png, …) or remove directories (old checkpoints and
// the temporary directories an interrupted save leaves).
const fileRun = "qkv-run.json"

// runMarker is fileRun's contents.
type runMarker struct {
	QKV    string `json:"qkv"`
	Format int    `json:"format"`
}

const runMarkerKind = "run directory"

func runMarkerBytes() []byte {
	b, _ := json.Marshal(runMarker{QKV: runMarkerKind, Format: FormatVersion}) // cannot fail
	return append(b, '\n')
}

// hasMarker reports whether dir holds a run marker.
func hasMarker(fsys fileOps, dir string) bool {
	b, err := fsys.ReadFile(filepath.Join(dir, fileRun))
	var m runMarker
	return err == nil && json.Unmarshal(b, &m) == nil && m.QKV == runMarkerKind
}

// runNames are the names qkv itself gives entries of a run directory.
// A directory holding nothing else, and at least one checkpoint, is a run
// made before runs were marked (fileRun).
var runNames = []string{fileRun, fileConfig, fileMetrics, fileHeldOut, fileBest, CurvesFile, ProbesFile, "lock"}

// ownTemp reports whether name is one of the temporary directories a save
// or a prune makes in a run directory, and so qkv's to remove.
func ownTemp(name string) bool {
	return strings.HasPrefix(name, tmpPrefix+stepPrefix) || strings.HasPrefix(name, tmpPrefix+trashPrefix+stepPrefix)
}

const trashPrefix = "trash-"

// foreign returns the first entry of dir that qkv does not make, or "".
func foreign(entries []fs.DirEntry) string {
	for _, e := range entries {
		n := e.Name()
		if slices.Contains(runNames, n) || ownTemp(n) || (strings.HasPrefix(n, stepPrefix) && e.IsDir()) {
			continue
		}
		// writeDurable's temporary files: ".config.json123" beside config.json.
		if strings.HasPrefix(n, ".") && slices.ContainsFunc(runNames, func(r string) bool { return strings.HasPrefix(n, "."+r) }) {
			continue
		}
		return n
	}
	return ""
}

// HoldsRun reports whether dir holds a run: a marked one (which may have
// stopped before its first checkpoint), or checkpoints.
func HoldsRun(dir string) bool {
	if hasMarker(osFiles{}, dir) {
		return true
	}
	steps, err := listCheckpoints(osFiles{}, dir)
	return err == nil && len(steps) > 0
}

// checkFresh reports why a fresh run cannot start in dir: ErrHoldsRun or
// ErrNotRunDir. An empty directory, or a missing one, is fine.
func checkFresh(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: run directory: %w", err)
	}
	if HoldsRun(dir) {
		if steps, _ := listCheckpoints(osFiles{}, dir); len(steps) == 0 {
			return fmt.Errorf("train: %s %w, stopped before its first checkpoint; remove it or choose another directory", dir, ErrHoldsRun)
		}
		return fmt.Errorf("train: %s %w; resume it or choose another directory", dir, ErrHoldsRun)
	}
	return fmt.Errorf("train: %s %w (it holds %s); choose an empty or new directory", dir, ErrNotRunDir, entries[0].Name())
}

// claim makes sure the run directory dir is qkv's before a resumed run
// writes in it: marked, or a run made before runs were marked, which is
// marked now. A checkpoint copied into a directory of other files is
// not resumed there.
func claim(dir string) error {
	if hasMarker(osFiles{}, dir) {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("train: run directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, fileRun)); err == nil {
		return fmt.Errorf("train: %s %w made by this program: its %s is not a run's marker", dir, ErrNotRunDir, fileRun)
	}
	if n := foreign(entries); n != "" {
		return fmt.Errorf("train: %s %w made by this program (it holds %s); copy the checkpoint into an empty directory to resume it", dir, ErrNotRunDir, n)
	}
	return writeDurable(filepath.Join(dir, fileRun), runMarkerBytes())
}

// stepDir names the checkpoint of a step.
func stepDir(step int) string { return fmt.Sprintf("%s%08d", stepPrefix, step) }

// listCheckpoints returns the steps of the checkpoint directories in dir,
// newest first.
func listCheckpoints(fsys fileOps, dir string) ([]int, error) {
	entries, err := fsys.ReadDir(dir)
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
// warn. A checkpoint that a training process prunes while it is read is
// not damage: it is passed over in silence. A checkpoint that cannot be
// read for want of permission is an error, not damage to skip. dir may
// also be a checkpoint directory itself.
func OpenRun(dir, which string, warn func(string)) (*Checkpoint, error) {
	return openRun(osFiles{}, dir, which, warn)
}

func openRun(fsys fileOps, dir, which string, warn func(string)) (*Checkpoint, error) {
	if which != Latest && which != Best {
		return nil, fmt.Errorf("train: unknown checkpoint choice %q (want latest or best)", which)
	}
	// "run/step-00000010/" names the checkpoint as "run/step-00000010"
	// does: its run directory is run, which Checkpoint.RunDir finds by
	// dropping the last element.
	dir = filepath.Clean(dir)
	if _, err := fsys.Stat(filepath.Join(dir, fileManifest)); err == nil {
		return loadCheckpoint(fsys, dir)
	}
	// A training process may prune what was listed, or replace best.json,
	// while this reads: a vanished checkpoint makes it look again.
	for attempt := 0; ; attempt++ {
		ck, err, vanished := openRunOnce(fsys, dir, which, warn)
		if !vanished || attempt == 10 {
			return ck, err
		}
	}
}

// openRunOnce is one look at dir. vanished reports a failure in which a
// checkpoint disappeared while being read, which a second look may pass.
func openRunOnce(fsys fileOps, dir, which string, warn func(string)) (ck *Checkpoint, err error, vanished bool) {
	steps, err := listCheckpoints(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", dir, unwrapPath(err)), false
	}
	// load loads one checkpoint; gone reports one pruned under it.
	load := func(step int) (ck *Checkpoint, err error, gone bool) {
		path := filepath.Join(dir, stepDir(step))
		ck, err = loadCheckpoint(fsys, path)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			if _, serr := fsys.Stat(path); errors.Is(serr, fs.ErrNotExist) {
				return nil, err, true
			}
		}
		return ck, err, false
	}
	if which == Best {
		if b, err := readBest(fsys, dir); err == nil {
			ck, err, gone := load(b.Step)
			switch {
			case err == nil:
				return ck, nil, false
			case gone:
				return nil, err, true // best.json is being replaced: read it again
			case errors.Is(err, fs.ErrPermission):
				return nil, fmt.Errorf("train: %w", err), false
			}
			warn(fmt.Sprintf("best checkpoint is damaged: %v; using the newest good one", err))
		} else if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("train: %w", err), false
		} else if !errors.Is(err, fs.ErrNotExist) {
			warn(fmt.Sprintf("%v; using the newest good checkpoint", err))
		}
	}
	var lastErr error
	damaged := false
	for _, step := range steps {
		ck, err, gone := load(step)
		if err == nil {
			if damaged {
				warn(fmt.Sprintf("falling back to %s", ck.Dir))
			}
			return ck, nil, false
		}
		if gone {
			vanished = true
			continue
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("train: %w", err), false
		}
		warn(fmt.Sprintf("skipping damaged checkpoint: %v", err))
		damaged, lastErr = true, err
	}
	if lastErr != nil {
		return nil, fmt.Errorf("train: %s: %w (last error: %v)", dir, ErrNoCheckpoint, lastErr), vanished
	}
	return nil, fmt.Errorf("train: %s: %w", dir, ErrNoCheckpoint), vanished
}

func readBest(fsys fileOps, dir string) (*best, error) {
	path := filepath.Join(dir, fileBest)
	b, err := fsys.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	var bs best
	if err := json.Unmarshal(b, &bs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &bs, nil
}

func writeBest(fsys fileOps, dir string, b *best) error {
	j, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return fsys.WriteFile(filepath.Join(dir, fileBest), append(j, '\n'))
}

// prune deletes all but the newest keep checkpoints, sparing the best, and
// clears the temporary directories an interrupted save or prune left.
func prune(fsys fileOps, dir string, keep int, bestStep int) error {
	steps, err := listCheckpoints(fsys, dir)
	if err != nil {
		return err
	}
	for i, step := range steps {
		if i < keep || step == bestStep {
			continue
		}
		if err := removeDir(fsys, filepath.Join(dir, stepDir(step))); err != nil {
			return err
		}
	}
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if ownTemp(e.Name()) && e.IsDir() {
			if err := fsys.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("train: checkpoint: %w", err)
			}
		}
	}
	return nil
}

// removeDir deletes a checkpoint by renaming it out of sight first, so a
// crash mid-way never leaves a half-deleted directory under a step name.
func removeDir(fsys fileOps, path string) error {
	trash := filepath.Join(filepath.Dir(path), tmpPrefix+trashPrefix+filepath.Base(path))
	if err := fsys.RemoveAll(trash); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := fsys.Rename(path, trash); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return fsys.RemoveAll(trash)
}

// HasCheckpoint reports whether dir holds at least one checkpoint
// directory, loadable or not.
func HasCheckpoint(dir string) bool {
	steps, err := listCheckpoints(osFiles{}, dir)
	return err == nil && len(steps) > 0
}
