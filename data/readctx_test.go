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
	if b, err := ReadFileContext(ctx, file); err != nil || !bytes.Equal(b, big) {
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
			_, err := ReadFileContext(ctx, fifo)
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
