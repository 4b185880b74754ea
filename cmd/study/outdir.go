package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/internal/flock"
)

// reportMarker is results.json's "study" value: what marks a directory as
// a study report that a new study may write over.
const reportMarker = "qkv-study"

// errOutInUse reports a report directory another study holds.
var errOutInUse = errors.New("in use by another study")

// checkOut reports a report directory the study must not write into: a
// file, or a directory that holds anything but a previous study report.
// A missing directory is fine (the study creates it); so is an empty one.
func checkOut(dir string) error { return checkDir("-out", dir, true) }

// checkDir reports a directory that the flag named by name must not write
// into: a file, or a directory that holds anything, unless report is set
// and what it holds is a previous study report. A missing directory is
// fine; so is an empty one.
func checkDir(name, dir string, report bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s: not a directory", name, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !report {
		return fmt.Errorf("%s %s: the directory is not empty; choose a new or empty directory", name, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	var head struct {
		Study string `json:"study"`
	}
	if err != nil || json.Unmarshal(b, &head) != nil || head.Study != reportMarker {
		return fmt.Errorf("%s %s: the directory is not empty and holds no study report; choose another directory", name, dir)
	}
	return nil
}

// outDir is a report directory the study holds: locked against a second
// study, proven writable, with an empty directory beside it (aside) that
// the new report is written into and then swapped in whole, so that a
// reader or a failure never sees old and new files mixed.
type outDir struct {
	path    string
	lock    *os.File // the report directory, flock'ed while the study runs
	aside   string   // the new report, built beside path
	created string   // the outermost directory openOut created, if any
}

// openOut checks dir (checkOut), creates it if missing, locks it, and
// makes sure the report can be written and swapped in, all before any
// experiment runs. Every failure is the user's to fix: a usage error.
func openOut(dir string) (*outDir, error) {
	if err := checkOut(dir); err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	o := &outDir{path: dir}
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || filepath.Dir(p) == p {
			break
		}
		o.created = p
	}
	fail := func(err error) (*outDir, error) {
		o.close()
		return nil, fmt.Errorf("-out %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fail(err)
	}
	o.lock = f
	if err := flock.TryLock(f); err != nil {
		if errors.Is(err, flock.ErrWouldBlock) {
			return fail(errOutInUse)
		}
		return fail(err)
	}
	// Checked again under the lock: a study that held it a moment ago may
	// have swapped its report in.
	if err := checkOut(dir); err != nil {
		o.close()
		return nil, err
	}
	// The old report is removed after the swap, which takes write access
	// to the directory itself; the swap and the new report take it in the
	// parent.
	probe, err := os.CreateTemp(dir, ".study-probe-")
	if err != nil {
		return fail(fmt.Errorf("not writable: %w", err))
	}
	probe.Close()
	os.Remove(probe.Name())
	if o.aside, err = os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".study-"); err != nil {
		return fail(fmt.Errorf("cannot write beside it: %w", err))
	}
	if err := os.Chmod(o.aside, 0o755); err != nil {
		return fail(err)
	}
	return o, nil
}

// commit swaps the report built in o.aside in for o.path's contents and
// removes the old report, then releases the lock.
func (o *outDir) commit() error {
	if err := swapDirs(o.aside, o.path); err != nil {
		return fmt.Errorf("-out %s: %w", o.path, err)
	}
	o.created = "" // the directory now holds a report
	if err := syncDir(filepath.Dir(o.path)); err != nil {
		return fmt.Errorf("-out %s: %w", o.path, err)
	}
	o.close()
	return nil
}

// close removes what the study made and did not keep: the report being
// built (or, after commit, the old report that swapDirs moved aside), and
// a report directory it created for a report that never came. Closing
// twice does nothing.
func (o *outDir) close() {
	if o.aside != "" {
		os.RemoveAll(o.aside)
		o.aside = ""
	}
	if o.created != "" {
		for p := o.path; os.Remove(p) == nil && p != o.created; p = filepath.Dir(p) {
		}
		o.created = ""
	}
	if o.lock != nil {
		o.lock.Close() // closing the descriptor releases the lock
		o.lock = nil
	}
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// swapDirs exchanges the directories at a and b by moving b to a third
// name beside them, a to b, and the third to a: b is never a mix of the
// two, though between the renames it is missing for a moment (a crash
// there leaves both reports beside it, under names starting with a dot).
// A failure puts b back. (renameat2's RENAME_EXCHANGE would close the
// gap, but only golang.org/x/sys/unix offers it on amd64, which the
// package map keeps out of cmd/study.)
func swapDirs(a, b string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(b), "."+filepath.Base(b)+".old-")
	if err != nil {
		return err
	}
	os.Remove(tmp)
	if err := os.Rename(b, tmp); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		os.Rename(tmp, b)
		return err
	}
	return os.Rename(tmp, a)
}
