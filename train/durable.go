package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// writeDurable is the one way train writes a file: to a temporary file
// beside path, fsynced, renamed over path, and the directory fsynced, so
// that a crash at any instant leaves either the old contents or the new.
// Errors name path, never the temporary file the caller did not choose.
func writeDurable(path string, b []byte) error {
	if err := renameio.WriteFile(path, b, 0o644, beside(path)); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("train: write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// beside puts renameio's temporary file in path's directory. Left to
// itself, renameio probes the system's temporary directory with a file
// there and one beside path, and writes there when a rename across works:
// a process killed mid-write then left its temporary file in /tmp, outside
// anything qkv owns or cleans (dozens had piled up there from killed
// runs), and every write cost two probe files.
func beside(path string) renameio.Option { return renameio.WithTempDir(filepath.Dir(path)) }

// syncDir fsyncs a directory so that renames and creations in it persist.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("train: sync %s: %w", dir, err)
	}
	return nil
}

// WriteOutput writes b to path, a file the user named for a picture or
// another output, without ever replacing what is not a regular file: a
// new path or a regular file is written atomically (a temporary file
// beside it, fsynced and renamed over it, keeping an existing file's
// permissions); a symbolic link to a regular file replaces that file and
// leaves the link; a device, a named pipe or a link to one (/dev/stdout)
// is written through, as a shell's > would. A directory, or a link to
// nothing, is refused. Errors are *fs.PathError naming path, never a
// temporary file the user did not choose.
func WriteOutput(path string, b []byte) error {
	fail := func(err error) error {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return &fs.PathError{Op: "write", Path: path, Err: unwrapPath(err)}
	}
	fi, err := os.Stat(path) // through any symbolic link
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			return fail(errors.New("a symbolic link to a missing file"))
		}
		if err := renameio.WriteFile(path, b, 0o644, beside(path)); err != nil {
			return fail(err)
		}
		return nil
	case err != nil:
		return fail(err)
	case fi.IsDir():
		return fail(errors.New("is a directory"))
	case fi.Mode().IsRegular():
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fail(err)
		}
		if err := renameio.WriteFile(target, b, 0o644, beside(target), renameio.WithExistingPermissions()); err != nil {
			return fail(err)
		}
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fail(err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	return nil
}
