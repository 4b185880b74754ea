package nn

import (
	"runtime"

	"github.com/qkv-dev/qkv/internal/team"
)

// minParallelWork is the work (elements touched, weighted by cost; see
// costly) a row kernel must have before it is split over goroutines: below
// it, waking another thread costs more than it saves.
const minParallelWork = 1 << 18

// costly weights the elements of kernels that spend tens of cycles on each
// (exponentials, float64 statistics) against those that spend one or two.
const costly = 8

// workers is how many goroutines a row kernel is split over. Gorgonia runs
// the ops of a graph one after another, so without this every element-wise
// kernel would leave all cores but one idle.
var workers = runtime.GOMAXPROCS(0)

// parallelRows calls f over [0, n) split into contiguous ranges of rows, on
// up to workers goroutines when work is large enough. The ranges are small
// (about four per goroutine) and taken in turns, so a core that another
// process holds up does fewer of them. Each row must be independent of the
// others. A panic in any range is re-raised on the calling goroutine, where
// customOp.safely turns it into an error.
func parallelRows(n, work int, f func(lo, hi int)) {
	if workers < 2 || n < 2 || work < minParallelWork {
		f(0, n)
		return
	}
	pieces := min(n, 4*workers)
	team.Run(workers, pieces, func(i int) { f(i*n/pieces, (i+1)*n/pieces) })
}
