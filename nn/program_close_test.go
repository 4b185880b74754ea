package nn

import (
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestCloseFreesProgram checks that a closed program is collected: cmd/study
// builds a graph per model and length, and each closed one kept about 10 MB
// (its tape machine held by Gorgonia's finalizer in a reference cycle), so
// the study grew to 1.8 GB.
func TestCloseFreesProgram(t *testing.T) {
	w, err := NewParam("w", tensor.Float64, 256, 256)
	if err != nil {
		t.Fatal(err)
	}
	build := func() {
		g, err := NewGraph(tensor.Float64, true)
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := g.Input("x", 64, 256)
		if err != nil {
			t.Fatal(err)
		}
		wn, err := g.Param(w)
		if err != nil {
			t.Fatal(err)
		}
		y, err := G.Mul(x, wn)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := G.Sum(y)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(g, loss, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	live := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	build()
	before := live()
	const n = 20
	for range n {
		build()
	}
	// Each program holds about 1 MB of values (x, y, the gradient and
	// their buffers); kept, 20 of them grow the heap by ~20 MB.
	if grew := int64(live()) - int64(before); grew > 2<<20 {
		t.Errorf("the heap grew by %.1f MB over %d built and closed programs, want under 2 MB", float64(grew)/(1<<20), n)
	}
}
