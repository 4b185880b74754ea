package team

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain gives the team one helper at least, whatever the machine.
func TestMain(m *testing.M) {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	os.Exit(m.Run())
}

// TestEveryPieceOnce runs each piece exactly once, for counts around the
// number of participants, with and without helpers.
func TestEveryPieceOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
			counts := make([]atomic.Int32, n)
			Run(workers, n, func(i int) { counts[i].Add(1) })
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("workers %d, n %d: piece %d ran %d times", workers, n, i, c)
				}
			}
		}
	}
}

// together runs two pieces, each of which waits for the other to start:
// it returns only if a helper ran one of them beside the caller.
func together(t *testing.T) {
	t.Helper()
	var started sync.WaitGroup
	started.Add(2)
	finished := make(chan struct{})
	go func() {
		Run(2, 2, func(int) {
			started.Done()
			started.Wait()
		})
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("the two pieces never ran at the same time: no helper took one")
	}
}

// TestHelpersWake checks that a helper runs a piece beside the caller both
// while it spins (the next kernel at once) and once it has gone to sleep
// (the next kernel after a pause far longer than spinFor): a lost wake-up
// would leave the caller alone with a piece that waits for the other.
func TestHelpersWake(t *testing.T) {
	together(t)
	together(t)
	for range 20 {
		time.Sleep(20 * spinFor)
		together(t)
	}
}

// TestPanicReachesCaller re-raises a piece's panic on the caller once every
// piece has run, and leaves the team usable.
func TestPanicReachesCaller(t *testing.T) {
	for _, bad := range []int{0, 5, 63} {
		var ran atomic.Int32
		got := func() (r any) {
			defer func() { r = recover() }()
			Run(2, 64, func(i int) {
				ran.Add(1)
				if i == bad {
					panic(fmt.Sprintf("piece %d fails", i))
				}
			})
			return nil
		}()
		if want := fmt.Sprintf("piece %d fails", bad); got != want {
			t.Errorf("panic in piece %d: recovered %v, want %q", bad, got, want)
		}
		if ran.Load() != 64 {
			t.Errorf("panic in piece %d: %d of 64 pieces ran before Run returned", bad, ran.Load())
		}
	}
	together(t)
}

// TestNestedAndConcurrent runs Run inside a piece and from several
// goroutines at once: the inner and the losing calls run in order on their
// own goroutine instead of waiting for the team, so nothing deadlocks.
func TestNestedAndConcurrent(t *testing.T) {
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				Run(2, 8, func(int) {
					Run(2, 8, func(int) { total.Add(1) })
				})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("nested and concurrent calls did not finish")
	}
	if got, want := total.Load(), int64(4*50*8*8); got != want {
		t.Fatalf("%d inner pieces ran, want %d", got, want)
	}
}
