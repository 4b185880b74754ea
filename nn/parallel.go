package nn

import (
	"fmt"
	"runtime"
	"sync"
)

// minParallelWork is the number of elements a row kernel must touch before
// it is split over goroutines: below it, starting and joining one costs
// more than the half it saves.
const minParallelWork = 1 << 14

// workers is how many goroutines a row kernel is split over. Gorgonia runs
// the ops of a graph one after another, so without this every element-wise
// kernel would leave all cores but one idle.
var workers = runtime.GOMAXPROCS(0)

// parallelRows calls f over [0, n) split into contiguous ranges of rows, on
// up to workers goroutines when work (the elements touched) is large enough.
// Each row must be independent of the others. A panic in any range is
// re-raised on the calling goroutine, where customOp.safely turns it into
// an error.
func parallelRows(n, work int, f func(lo, hi int)) {
	nt := min(workers, n)
	if nt < 2 || work < minParallelWork {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure any
	for t := 1; t < nt; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					failure = r
					mu.Unlock()
				}
			}()
			f(t*n/nt, (t+1)*n/nt)
		}()
	}
	f(0, n/nt)
	wg.Wait()
	if failure != nil {
		panic(fmt.Sprint(failure))
	}
}
