package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/internal/flock"
)

// A training process holds an exclusive lock on its run directory itself
// for as long as it trains there. The kernel releases the lock when the
// process ends, however it ends, so a killed run never blocks the next
// one. Locking the directory, not a file in it, means nothing can be
// deleted to let a second trainer in: a directory removed and made again
// is another directory, which check catches before each save.

// ErrRunInUse reports a run directory another training process holds.
var ErrRunInUse = errors.New("in use by another training process")

// runLock is a held lock on a run directory.
type runLock struct {
	f       *os.File // the directory, open and locked
	dir     string
	created string // the outermost directory lockRun created, if any
	used    bool   // a run started writing in dir
	marked  bool   // lockRun's caller wrote fileRun into dir
}

// lockRun creates dir if needed and takes its lock without waiting.
func lockRun(dir string) (*runLock, error) {
	created := ""
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
			break
		}
		created = p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: run directory: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("train: run directory: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("train: run directory %s: not a directory", dir)
	}
	if err := flock.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, flock.ErrWouldBlock) {
			return nil, fmt.Errorf("train: %s is %w", dir, ErrRunInUse)
		}
		return nil, fmt.Errorf("train: lock %s: %w", dir, err)
	}
	return &runLock{f: f, dir: filepath.Clean(dir), created: created}, nil
}

// check reports a run directory that is no longer the one locked: removed,
// or removed and made again, perhaps by another trainer that now holds it.
func (l *runLock) check() error {
	if l == nil || l.f == nil {
		return nil
	}
	held, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("train: run directory %s: %w", l.dir, err)
	}
	now, err := os.Stat(l.dir)
	if err != nil || !os.SameFile(held, now) {
		return fmt.Errorf("train: run directory %s was removed or replaced while this run held it; stopping without writing there", l.dir)
	}
	return nil
}

// release gives the lock up; releasing nil or twice does nothing. What a
// run that never started wrote is removed again — its marker, and the
// directories lockRun created — so that input refused after New leaves
// nothing behind.
func (l *runLock) release() {
	if l == nil || l.f == nil {
		return
	}
	if !l.used {
		if l.marked {
			os.Remove(filepath.Join(l.dir, fileRun))
		}
		if l.created != "" {
			for p := l.dir; os.Remove(p) == nil && p != l.created; p = filepath.Dir(p) {
			}
		}
	}
	l.f.Close() // closing the descriptor releases the lock
	l.f = nil
}
