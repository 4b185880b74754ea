//go:build unix

package main

import (
	"bytes"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPictureOutputs: a picture written to a path that exists and is not
// a regular file writes through it and never replaces it — a link keeps
// pointing at its file, which gets the picture; a named pipe gets the
// bytes and stays a pipe; a device stays a device (/dev/full's numbers:
// its error is reported) — while a regular file is replaced whole, keeping
// its permissions. -curves -o - and -o /dev/stdout pipe the picture alone.
// Run as root, the test makes its own device and link to stdout rather
// than risk the system's.
func TestPictureOutputs(t *testing.T) {
	dir := t.TempDir()
	attention := func(path string) result {
		return runEval(t, "-ckpt", runDir, "-input", "a b c", "-attention-png", path)
	}

	t.Run("symbolic link", func(t *testing.T) {
		target := writeFile(t, filepath.Join(dir, "target.png"), "old")
		link := filepath.Join(dir, "link.png")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if r := attention(link); r.code != 0 {
			t.Fatalf("-attention-png link: exit %d, stderr %q", r.code, r.stderr)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v, %v", fi.Mode(), err)
		}
		decodesPNG(t, target)
	})

	t.Run("named pipe", func(t *testing.T) {
		fifo := filepath.Join(dir, "pipe.png")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		// Held open for reading and writing, the pipe lets the reader
		// open it at once and see its end once this and the writer close,
		// whatever the writer does: a program that replaces the path
		// instead cannot leave the reader waiting.
		hold, err := os.OpenFile(fifo, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			b, _ := os.ReadFile(fifo)
			got <- b
		}()
		r := attention(fifo)
		hold.Close()
		b := <-got
		if r.code != 0 {
			t.Fatalf("-attention-png fifo: exit %d, stderr %q", r.code, r.stderr)
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("the pipe was replaced: %v, %v", fi.Mode(), err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("the pipe carried %d bytes that are no PNG: %v", len(b), err)
		}
	})

	t.Run("device", func(t *testing.T) {
		// A device where every write fails (no space left on device): the
		// system's /dev/full only where /dev is not writable, so that code
		// that replaces a device cannot replace the system's; as root, a
		// node of our own with its numbers (major 1, minor 7).
		full := "/dev/full"
		if os.Geteuid() == 0 {
			full = filepath.Join(dir, "full")
			if err := syscall.Mknod(full, syscall.S_IFCHR|0o666, 1<<8|7); err != nil {
				t.Logf("mknod %s: %v; the named pipe case covers writing through", full, err)
				return
			}
		}
		before, err := os.Lstat(full)
		if err != nil || before.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("%s is not a character device here (%v)", full, err)
		}
		for _, args := range [][]string{
			{"-ckpt", runDir, "-input", "a b c", "-attention-png", full},
			{"-curves", runDir, "-o", full},
		} {
			r := runEval(t, args...)
			if r.code != 2 || !strings.Contains(r.stderr, full+": no space left on device") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("eval %s: exit %d, stderr %q; want 2 and one line: no space left on device", strings.Join(args, " "), r.code, r.stderr)
			}
			if after, err := os.Lstat(full); err != nil || after.Mode() != before.Mode() {
				t.Fatalf("%s was replaced: mode %v, was %v (%v)", full, after.Mode(), before.Mode(), err)
			}
		}
	})

	t.Run("regular file", func(t *testing.T) {
		path := writeFile(t, filepath.Join(dir, "mine.png"), "old")
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		if r := attention(path); r.code != 0 {
			t.Fatalf("-attention-png over a file: exit %d, stderr %q", r.code, r.stderr)
		}
		decodesPNG(t, path)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the replaced file's mode is %v (%v), want its own 0600", fi.Mode().Perm(), err)
		}
	})

	t.Run("stdout", func(t *testing.T) {
		// /dev/stdout is a link to /proc/self/fd/1; the test's own link to
		// it is the same to the program, and code that replaced links
		// would replace the test's, not the system's.
		stdout := "/dev/stdout"
		if os.Geteuid() == 0 {
			stdout = filepath.Join(dir, "stdout")
			if err := os.Symlink("/proc/self/fd/1", stdout); err != nil {
				t.Fatal(err)
			}
		}
		for _, out := range []string{"-", stdout} {
			r := runEval(t, "-curves", runDir, "-o", out)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("-curves -o %s: exit %d, stderr %q", out, r.code, r.stderr)
			}
			if _, err := png.Decode(strings.NewReader(r.stdout)); err != nil {
				t.Errorf("-curves -o %s: stdout is no PNG: %v", out, err)
			}
			if strings.Contains(r.stdout, "wrote") {
				t.Errorf("-curves -o %s: a message follows the picture on stdout", out)
			}
		}
		r := runEval(t, "-ckpt", runDir, "-input", "a b", "-attention-png", "-")
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "-attention-png -: stdout holds the prediction") {
			t.Errorf("-attention-png -: exit %d, stdout %q, stderr %q; want 2, nothing, and why", r.code, r.stdout, r.stderr)
		}
	})
}
