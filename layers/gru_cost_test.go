package layers

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// gruTrainingElems builds the training graph of a one-layer GRU over
// [8, t, 16] inputs — forward, and the gradients of every weight and of
// the input — and returns the elements of all its nodes' values together:
// what a run computes and holds, whatever the machine's load.
func gruTrainingElems(t *testing.T, steps int) int {
	t.Helper()
	const b, d = 8, 16
	l, err := NewGRU("gru", GRUConfig{Input: d, Hidden: d, Layers: 1, Dtype: tensor.Float32}, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	x, err := nn.NewParam("x", tensor.Float32, b, steps, d)
	if err != nil {
		t.Fatal(err)
	}
	g, err := nn.NewGraph(tensor.Float32, true)
	if err != nil {
		t.Fatal(err)
	}
	xn, err := g.Param(x)
	if err != nil {
		t.Fatal(err)
	}
	keep, _, err := g.Input("keep", b, steps)
	if err != nil {
		t.Fatal(err)
	}
	y, err := l.Forward(g, xn, keep)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := nn.Sum(y, false, 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g, loss, true)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	n := 0
	for _, node := range g.ExprGraph().AllNodes() {
		n += node.Shape().TotalSize()
	}
	return n
}

// TestGRUBackwardCost: a GRU's training graph over 8 times the steps
// holds at most 8.5 times the elements — O(T) — where slicing each step
// out of the whole sequence made it O(T²): 25.9 times (measured before
// nn.Split; this test failed then), and splitting the sequence by halving
// O(T log T): 9.9 times (failed too).
func TestGRUBackwardCost(t *testing.T) {
	short, long := gruTrainingElems(t, 8), gruTrainingElems(t, 64)
	ratio := float64(long) / float64(short)
	t.Logf("elements of the training graph: %d at T=8, %d at T=64: ×%.2f", short, long, ratio)
	if ratio > 8.5 {
		t.Errorf("T=8 → 64 multiplies the training graph's elements by %.2f, want at most 8.5 (O(T))", ratio)
	}
}
