// Package team runs the pieces of one parallel kernel on a team of helper
// goroutines that stay awake between kernels.
//
// A training step is hundreds of kernels run one after another, most of
// them tens of microseconds long. Starting goroutines for each one wakes an
// idle core every time, and on a virtual machine waking a halted core goes
// through the hypervisor: at the small benchmark size (a few hundred kernels
// of 20–150 µs each) two cores ran a step slower than one. The helpers
// here wait for the next kernel by spinning (yielding to the Go scheduler
// between checks) for a short while before they sleep, as OpenMP's and
// OpenBLAS's threads do, so back-to-back kernels find them awake.
package team

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long a helper keeps checking for the next kernel before
// it sleeps: longer than the serial gaps between the kernels of one step,
// short enough that an idle program gives its cores back at once.
const spinFor = 200 * time.Microsecond

// job is one call of Run: the pieces [0, n) of f, taken in turns.
type job struct {
	f        func(int)
	n        int64
	next     atomic.Int64 // the next piece to take
	finished atomic.Int64 // pieces done
	done     chan struct{}
	failure  atomic.Value // the first panic's message
}

// work takes pieces of j until none is left.
func (j *job) work() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.run(int(i))
		if j.finished.Add(1) == j.n {
			close(j.done)
		}
	}
}

// run calls f(i), keeping a panic to re-raise on Run's goroutine.
func (j *job) run(i int) {
	defer func() {
		if r := recover(); r != nil {
			j.failure.CompareAndSwap(nil, fmt.Sprint(r))
		}
	}()
	j.f(i)
}

// helper is one goroutine of the team.
type helper struct {
	asleep atomic.Bool
	wake   chan struct{} // a token wakes it; a stale one only makes it look again
}

var (
	busy    sync.Mutex // held by the Run whose job the helpers are given
	current atomic.Pointer[job]
	gen     atomic.Uint64 // counts jobs handed out
	start   sync.Once
	helpers []*helper
)

// Run calls f(i) for every i in [0, n) and returns when all have returned.
// The calling goroutine and up to workers-1 helpers take the pieces in
// turns, so a core that another process holds up does fewer of them. With
// workers < 2, n < 2, or while another Run holds the team (a Run inside a
// piece, or a second caller), the pieces run in order on the caller. A
// panic in any piece is re-raised on the caller once every piece is done.
func Run(workers, n int, f func(i int)) {
	start.Do(startHelpers)
	if workers < 2 || n < 2 || len(helpers) == 0 || !busy.TryLock() {
		for i := range n {
			f(i)
		}
		return
	}
	defer busy.Unlock()
	j := &job{f: f, n: int64(n), done: make(chan struct{})}
	current.Store(j)
	gen.Add(1)
	for _, h := range helpers[:min(len(helpers), workers-1, n-1)] {
		if h.asleep.Load() {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
	j.work()
	// The last pieces are on helpers: wait for them awake, as they wait
	// for work, so that finishing does not hand this goroutine to another
	// core.
	for deadline := time.Now().Add(spinFor); j.finished.Load() != j.n && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	<-j.done
	current.Store(nil)
	if r := j.failure.Load(); r != nil {
		panic(r)
	}
}

// startHelpers starts one helper for each core but the caller's.
func startHelpers() {
	for range runtime.GOMAXPROCS(0) - 1 {
		h := &helper{wake: make(chan struct{}, 1)}
		helpers = append(helpers, h)
		go h.loop()
	}
}

// loop waits for each job in turn and works on it. Only the helpers Run
// wakes sleep through a job; a spinning one joins any job it sees.
func (h *helper) loop() {
	var seen uint64
	for {
		seen = h.await(seen)
		if j := current.Load(); j != nil {
			j.work()
		}
	}
}

// await returns the count of jobs once it passes seen: spinning for
// spinFor, then asleep until Run wakes the helper. Sleeping is announced
// before the count is looked at once more, and Run hands out the job before
// it looks for sleepers, so one of the two always sees the other.
func (h *helper) await(seen uint64) uint64 {
	deadline := time.Now().Add(spinFor)
	for {
		for i := 0; i < 64; i++ {
			if g := gen.Load(); g != seen {
				return g
			}
			runtime.Gosched()
		}
		if time.Now().Before(deadline) {
			continue
		}
		h.asleep.Store(true)
		if g := gen.Load(); g != seen {
			h.asleep.Store(false)
			return g
		}
		<-h.wake
		h.asleep.Store(false)
		deadline = time.Now().Add(spinFor)
	}
}
