// Package tripctx gives tests a context that cancels itself at its n-th
// look: run once for each n in turn, a test stops the code under test at
// every point that watches its context, deterministically, rather than
// hoping a timed signal lands in a window.
package tripctx

import (
	"context"
	"sync/atomic"
)

// Ctx is a context that cancels itself at the n-th call of Err. Done does
// not count a look: the context package itself calls it (context.AfterFunc's
// stop, for one) where nothing looks again.
type Ctx struct {
	context.Context
	cancel  context.CancelFunc
	n       int64
	looks   atomic.Int64
	tripped atomic.Bool
}

// New returns a context that cancels itself at the n-th call of Err.
func New(n int64) *Ctx {
	ctx, cancel := context.WithCancel(context.Background())
	return &Ctx{Context: ctx, cancel: cancel, n: n}
}

// Err counts a look, cancels the context if it is the n-th, and returns
// the context's error.
func (c *Ctx) Err() error {
	if c.looks.Add(1) == c.n {
		c.tripped.Store(true)
		c.cancel()
	}
	return c.Context.Err()
}

// Tripped reports whether the n-th look has come.
func (c *Ctx) Tripped() bool { return c.tripped.Load() }

// Looks is the number of looks so far.
func (c *Ctx) Looks() int64 { return c.looks.Load() }

// Close releases the context's resources.
func (c *Ctx) Close() { c.cancel() }
