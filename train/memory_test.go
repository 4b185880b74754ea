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
// Resident memory is measured live, inside the loop (through the progress
// writer), at step 500 and at step 5000, and again after each of the two
// runs (500 steps, then resumed in the same process to 5000), and must stay
// within 10%.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("5000 training steps")
	}
	const first, last = 500, 5000
	c := tinyConfig(t, "copy")
	c.LogEvery, c.EvalEvery, c.SaveEvery = 50, 250, 500
	c.Steps = first
	live := map[int]int64{}
	measure := NewProgress(stepHook(func(step int) {
		if step == first || step == last {
			live[step] = rss(t)
		}
	}), false)

	tr := mustNew(t, c)
	tr.SetProgress(measure)
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	after1 := rss(t)

	c.Steps = last
	tr = mustResume(t, c.Out, c)
	tr.SetProgress(measure)
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	after2 := rss(t)

	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	t.Logf("resident: in the loop at step %d %s, at step %d %s; after the runs %s and %s",
		first, mib(live[first]), last, mib(live[last]), mib(after1), mib(after2))
	for _, pair := range []struct {
		what       string
		base, then int64
	}{
		{"in the loop", live[first], live[last]},
		{"after the run", after1, after2},
	} {
		if pair.base == 0 || pair.then == 0 {
			t.Errorf("%s: no measurement (%d, %d)", pair.what, pair.base, pair.then)
			continue
		}
		if float64(pair.then) > 1.10*float64(pair.base) {
			t.Errorf("%s: resident memory grew from %s at step %d to %s at step %d (> 10%%)",
				pair.what, mib(pair.base), first, mib(pair.then), last)
		}
	}
}
