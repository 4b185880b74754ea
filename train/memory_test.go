package train

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// rss returns the resident set size of this process in bytes, after a
// collection that hands freed memory back to the system.
func rss(t testing.TB) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	var size, resident int64
	if _, err := fmt.Fscan(bytes.NewReader(b), &size, &resident); err != nil {
		t.Fatalf("/proc/self/statm %q: %v", b, err)
	}
	return resident * int64(os.Getpagesize())
}

// TestMemoryFlat: training does not grow memory with the number of steps.
// Resident memory is measured inside the loop (through the progress
// writer) at step 500 and at step 5000 of one run, and must stay within
// 10%. Validation and checkpointing run every 250 steps, so every code
// path of the loop has run once before the first measurement. The live heap
// is logged too; the Go runtime's reserved memory is not compared, since it
// is a high-water mark of everything the process did before.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("5000 training steps")
	}
	const first, last = 500, 5000
	c := tinyConfig(t, "copy")
	c.LogEvery, c.EvalEvery, c.SaveEvery = 50, 250, 250
	c.Steps = last
	live := map[int]int64{}
	heap := map[int]uint64{} // live heap after a collection
	tr := mustNew(t, c)
	tr.SetProgress(NewProgress(stepHook(func(step int) {
		if step == first || step == last {
			live[step] = rss(t)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap[step] = ms.HeapAlloc
		}
	}), false))
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	t.Logf("resident at step %d: %s, at step %d: %s; live heap %s and %s",
		first, mib(live[first]), last, mib(live[last]), mib(int64(heap[first])), mib(int64(heap[last])))
	if live[first] == 0 || live[last] == 0 {
		t.Fatalf("no measurement (%d, %d)", live[first], live[last])
	}
	if float64(live[last]) > 1.10*float64(live[first]) {
		t.Errorf("resident memory grew from %s at step %d to %s at step %d (> 10%%)", mib(live[first]), first, mib(live[last]), last)
	}
}
