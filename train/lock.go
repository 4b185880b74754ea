package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// fileLock, in a run directory, is what a training process holds an
// exclusive lock on for as long as it trains there. The kernel releases
// the lock when the process ends, however it ends, so a killed run never
// blocks the next one; the empty file itself stays.
const fileLock = "lock"

// ErrRunInUse reports a run directory another training process holds.
var ErrRunInUse = errors.New("in use by another training process")

// runLock is a held lock on a run directory.
type runLock struct {
	f       *os.File
	dir     string
	created string // the outermost directory lockRun created, if any
	used    bool   // a run started writing in dir
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
	path := filepath.Join(dir, fileLock)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: run directory: %w", err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("train: %s is %w (it holds %s)", dir, ErrRunInUse, path)
		}
		return nil, fmt.Errorf("train: lock %s: %w", path, err)
	}
	return &runLock{f: f, dir: filepath.Clean(dir), created: created}, nil
}

// release gives the lock up; releasing nil or twice does nothing. A
// directory that lockRun created for a run that never started is removed
// again, so that input refused after New leaves nothing behind.
func (l *runLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Close() // closing the descriptor releases the lock
	l.f = nil
	if l.created != "" && !l.used {
		os.Remove(filepath.Join(l.dir, fileLock))
		for p := l.dir; os.Remove(p) == nil && p != l.created; p = filepath.Dir(p) {
		}
	}
}
