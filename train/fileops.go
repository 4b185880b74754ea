package train

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// fileOps is every file operation that saving, listing, loading and
// pruning checkpoints makes. The program uses osFiles; the tests put a
// wrapper in between that counts the operations of a save and stops it
// after the n-th, as a crash would, or that acts between two reads, as
// another process would (see crashsafety_test.go).
type fileOps interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	// Mkdir creates a directory, mode 0755 less the umask.
	Mkdir(name string) error
	// WriteFile writes a file atomically and durably (writeDurable).
	WriteFile(name string, b []byte) error
	Rename(oldpath, newpath string) error
	RemoveAll(name string) error
	// SyncDir fsyncs a directory (syncDir).
	SyncDir(name string) error
}

// osFiles is fileOps on the operating system's file system.
type osFiles struct{}

func (osFiles) ReadFile(name string) ([]byte, error)       { return readRegular(name) }
func (osFiles) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (osFiles) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFiles) Mkdir(name string) error                    { return os.Mkdir(name, 0o755) }
func (osFiles) WriteFile(name string, b []byte) error      { return writeDurable(name, b) }
func (osFiles) Rename(oldpath, newpath string) error       { return os.Rename(oldpath, newpath) }
func (osFiles) RemoveAll(name string) error                { return os.RemoveAll(name) }
func (osFiles) SyncDir(name string) error                  { return syncDir(name) }

// readRegular is os.ReadFile for the files qkv writes into a run
// directory, which are regular files: anything else under their names (a
// FIFO, which would wait for a writer for good; a device such as
// /dev/zero, which never ends) is refused without reading it. Opening does
// not wait (O_NONBLOCK, which a regular file's reads ignore).
func readRegular(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errNotRegular}
	}
	return io.ReadAll(f)
}

// errNotRegular reports a file that is a directory, FIFO, device or socket
// where a regular file belongs.
var errNotRegular = errors.New("not a regular file")
