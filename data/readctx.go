package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// readChunk is how much ReadFileContext reads between two looks at its
// context: a read this size from a disk takes milliseconds.
const readChunk = 1 << 20

// ReadFileContext is os.ReadFile stopped by ctx, for files that may take
// long: a FIFO that no process writes blocks open(2) until one does, and
// then each read; a large file takes seconds. Opening waits on its own
// goroutine, which, if ctx is done first, is left to close what it opens;
// a pipe's pending read is woken by a deadline; a regular file is read a
// chunk at a time. A stopped read returns ctx's cause.
//
// A file of more than limit bytes (0: no limit) is an error wrapping
// ErrTooLarge: a regular file's size is checked before anything is read, a
// pipe's or a device's (/dev/zero never ends) as it is read.
func ReadFileContext(ctx context.Context, path string, limit int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	var f *os.File
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		f = o.f
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
	defer f.Close()
	// A FIFO's read waits in the runtime's poller, which a deadline in the
	// past wakes; a regular file takes no deadline (and needs none).
	wake := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer wake()
	tooLarge := func() error {
		return fmt.Errorf("%s holds more than %d bytes: %w", path, limit, ErrTooLarge)
	}
	// A regular file is read into one slice of its size; anything else in
	// chunks, joined at the end: a slice grown as it reads copies itself
	// over and over (reading 100 MiB of /dev/zero took seconds).
	var b []byte
	var chunks [][]byte
	total := int64(0)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if limit > 0 && fi.Size() > limit {
			return nil, tooLarge()
		}
		b = make([]byte, 0, fi.Size()+1)
	}
	for {
		if limit > 0 && total > limit {
			return nil, tooLarge()
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if len(b) == cap(b) {
			if b != nil {
				chunks = append(chunks, b)
			}
			b = make([]byte, 0, readChunk)
		}
		n, err := f.Read(b[len(b):min(cap(b), len(b)+readChunk)])
		b = b[:len(b)+n]
		total += int64(n)
		if errors.Is(err, io.EOF) {
			if chunks == nil {
				return b, nil
			}
			return slices.Concat(append(chunks, b)...), nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
	}
}
