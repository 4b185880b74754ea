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
	if err := renameio.WriteFile(path, b, 0o644); err != nil {
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
