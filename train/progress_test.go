package train

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressStartsAtItsTotal: the live bar was made with a total of 1
// and drawn at once, so a run began by showing "(0/1)"; it is now drawn
// first by Start, with the run's total.
func TestProgressStartsAtItsTotal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, true)
	if buf.Len() != 0 {
		t.Errorf("NewProgress drew %q before Start", buf.String())
	}
	p.Start(0, 3000)
	p.Update(1, 2.5, 1000)
	if out := buf.String(); strings.Contains(out, "/1)") || !strings.Contains(out, "/3000") {
		t.Errorf("after Start(0, 3000): %q, want the bar against 3000 and never /1", out)
	}
	var plain bytes.Buffer
	q := NewProgress(&plain, false)
	q.Start(10, 20)
	q.Log(15, 1.25, 100, 10)
	if got := plain.String(); got != "step 15/20  loss 1.2500  100 tok/s  eta 1s\n" {
		t.Errorf("plain progress: %q", got)
	}
}
