package data

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileContext: a data file read under a context reads whole when
// nothing stops it, and stops with the context's cause when it is
// cancelled while a FIFO's writer holds it open without writing more (a
// read that os.ReadFile waits on forever), or before a FIFO without a
// writer is even open.
func TestReadFileContext(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("a b\tb a\n"), 3*readChunk/8+5) // several chunks
	file := filepath.Join(dir, "big.tsv")
	if err := os.WriteFile(file, big, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if b, err := ReadFileContext(ctx, file, 0); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("ReadFileContext(%d bytes) = %d bytes, %v", len(big), len(b), err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, writer := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := ReadFileContext(ctx, fifo, 0)
			done <- err
		}()
		if writer {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the reader to open
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Write([]byte("a b\tb a\n")); err != nil {
				t.Fatal(err)
			}
			// Cancel only once the reader waits for more: its goroutine
			// parked in the poller.
			for !readerWaits() {
				time.Sleep(time.Millisecond)
			}
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("writer %v: cancelled read = %v, want context.Canceled", writer, err)
			}
		case <-time.After(time.Minute): // a guard: os.ReadFile never returns
			t.Fatalf("writer %v: a cancelled read of a FIFO did not return", writer)
		}
	}
}

// readerWaits reports whether a goroutine waits in ReadFileContext for a
// pipe to have something to read.
func readerWaits() bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "ReadFileContext") {
			return true
		}
	}
	return false
}

// TestReadFileContextLimit tests the limit on both sides: a regular file
// of limit bytes reads, one byte more is refused before reading; a device
// that never ends (/dev/zero), read before without bound until memory ran
// out, is refused once it passes the limit.
func TestReadFileContextLimit(t *testing.T) {
	const limit = 3*readChunk + 17
	path := filepath.Join(t.TempDir(), "f")
	ctx := context.Background()
	for _, size := range []int{limit, limit + 1} {
		if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := ReadFileContext(ctx, path, limit)
		if size <= limit && (err != nil || len(b) != size) {
			t.Errorf("%d bytes under a limit of %d: %d bytes, %v", size, limit, len(b), err)
		}
		if size > limit && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d bytes under a limit of %d: %v, want ErrTooLarge", size, limit, err)
		}
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	if _, err := ReadFileContext(ctx, "/dev/zero", limit); !errors.Is(err, ErrTooLarge) {
		t.Errorf("/dev/zero under a limit of %d: %v, want ErrTooLarge", limit, err)
	}
}
