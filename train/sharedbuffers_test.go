package train

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// memHook records the live heap, after a full collection, at the logging
// line of step and at the validation line of the same step: the memory
// validation adds to a run whose training graph is built and has run.
type memHook struct {
	step             int
	atLog, atEval    uint64
	sawLog, sawEval  bool
	liveAfterCollect func() uint64
}

func (h *memHook) Write(p []byte) (int, error) {
	var step, total int
	if n, _ := fmt.Sscanf(string(p), "step %d/%d", &step, &total); n == 2 && step == h.step {
		h.atLog, h.sawLog = h.liveAfterCollect(), true
	}
	if n, _ := fmt.Sscanf(string(p), "step %d: validation", &step); n == 1 && step == h.step {
		h.atEval, h.sawEval = h.liveAfterCollect(), true
	}
	return len(p), nil
}

// TestValidationSharesTrainingMemory checks that a run's validation graph
// keeps its op outputs in the memory of the training graph's (nn.Buffers):
// the training graph is idle while validation runs. Before, the first
// validation added the whole evaluation graph to the heap — 17 MB here,
// about 200 MB at the large benchmark size. With a validation graph larger
// than the training graph (a batch of 8 against 64 rows), the shared
// buffers are sized for it before training starts: grown at the first
// validation instead, they held the old training buffers beside the new
// (17 MB more here; 42 MB of 162 MB peak RSS at the small benchmark size).
func TestValidationSharesTrainingMemory(t *testing.T) {
	for _, batch := range []int{64, 8} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) { testValidationShares(t, batch) })
	}
}

func testValidationShares(t *testing.T, batch int) {
	c := Default()
	c.Task = "copy"
	c.MinLen, c.Len = 32, 32
	c.Batch, c.ValExamples, c.TestExamples = batch, 64, 64
	c.Steps, c.LogEvery, c.EvalEvery, c.SaveEvery = 2, 1, 2, 2
	c.Out = t.TempDir()
	tr := mustNew(t, c)
	h := &memHook{step: 2, liveAfterCollect: func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}}
	tr.SetProgress(NewProgress(h, false))
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !h.sawLog || !h.sawEval {
		t.Fatalf("saw the logging line %v, the validation line %v; want both", h.sawLog, h.sawEval)
	}
	cfg := tr.Config()
	mc := cfg.modelConfig(tr.ds.Kind, tr.ds.In.Size(), tr.ds.Out.Size())
	evalGraph := GraphBytes(mc, c.ValExamples, c.Len, false) / gcHeadroom // its live size, as estimated
	grew := int64(h.atEval) - int64(h.atLog)
	t.Logf("validation added %.2f MB to the live heap; its graph alone takes about %.2f MB", float64(grew)/(1<<20), float64(evalGraph)/(1<<20))
	if grew > evalGraph/4 {
		t.Errorf("validation added %.2f MB to the live heap, want under a quarter of its graph's %.2f MB: the graphs should share their outputs' memory", float64(grew)/(1<<20), float64(evalGraph)/(1<<20))
	}
}
