package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tolerances of the finite-difference checks: step h and the floor under
// which a gradient is compared absolutely. float64 central differences with
// h = 1e-3 (five-point stencil) agree with exact gradients to about 1e-12.
const (
	fdStep  = 1e-3
	fdFloor = 1e-4
	fdTol   = 1e-6
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randParam makes a float64 parameter with N(0,1) values.
func randParam(t *testing.T, rng *rand.Rand, name string, shape ...int) *Param {
	t.Helper()
	p, err := NewParam(name, tensor.Float64, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := Normal(1)(p, rng); err != nil {
		t.Fatal(err)
	}
	return p
}

// runOnce compiles g as Compile does and runs the program once; the test
// closes it when it ends.
func runOnce(t testing.TB, g *Graph, loss *G.Node, withGrads bool, outputs ...*G.Node) *Program {
	t.Helper()
	prog, err := Compile(g, loss, withGrads, outputs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	return prog
}

// setInput fills an input tensor from vals.
func setInput(t *testing.T, g *Graph, name string, vals []float64, shape ...int) *G.Node {
	t.Helper()
	n, v, err := g.Input(name, shape...)
	if err != nil {
		t.Fatal(err)
	}
	FromFloat64s(v, vals)
	return n
}

func checkGrad(t *testing.T, build func(g *Graph) (*G.Node, error)) {
	t.Helper()
	res, err := GradCheck(build, nil, fdStep, fdFloor)
	if err != nil {
		t.Fatal(err)
	}
	if res.RelErr > fdTol || res.RelErr != res.RelErr {
		t.Errorf("gradient check failed: worst %v", res)
	} else {
		t.Logf("worst %v", res)
	}
}

func TestOpGradients(t *testing.T) {
	rng := newRand(1)
	x3 := randParam(t, rng, "x", 2, 3, 4)
	x3b := randParam(t, rng, "x2", 2, 3, 4)
	w := randParam(t, rng, "w", 5, 4)
	b := randParam(t, rng, "b", 5)
	gamma := randParam(t, rng, "gamma", 4)
	beta := randParam(t, rng, "beta", 4)
	s4 := randParam(t, rng, "s", 2, 2, 3, 3)
	logits := randParam(t, rng, "z", 6, 5)
	table := randParam(t, rng, "table", 7, 4)
	pe := randParam(t, rng, "pe", 3, 4)
	keep := []float64{1, 1, 0, 1, 0, 0} // batch 0 keeps 2 keys, batch 1 keeps 1
	tests := []struct {
		name  string
		build func(g *Graph) (*G.Node, error)
	}{
		{"Linear", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return Linear(n[0], n[1], n[2]) }, x3, w, b)
		}},
		{"LayerNorm", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return LayerNorm(n[0], n[1], n[2], 1e-5) }, x3, gamma, beta)
		}},
		{"GELU", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return GELU(n[0]) }, x3)
		}},
		{"LinearReLU", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return LinearReLU(n[0], n[1], n[2]) }, x3, w, b)
		}},
		{"ReLU", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return ReLU(n[0]) }, x3)
		}},
		{"Add", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return Add(n[0], n[1]) }, x3, x3b)
		}},
		{"AddSameInput", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return Add(n[0], n[0]) }, x3)
		}},
		{"AddTrailing", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return AddTrailing(n[0], n[1]) }, x3, pe)
		}},
		{"MaskedSoftmax", func(g *Graph) (*G.Node, error) {
			k := setInput(t, g, "keep", keep[:], 2, 3)
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return MaskedSoftmax(n[0], k, 0.5) }, s4)
		}},
		{"MaskedMean", func(g *Graph) (*G.Node, error) {
			k := setInput(t, g, "keep", keep[:], 2, 3)
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return MaskedMean(n[0], k) }, x3)
		}},
		{"Embed", func(g *Graph) (*G.Node, error) {
			ids := setInput(t, g, "ids", []float64{0, 3, 3, 6, 1, 0}, 2, 3)
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return Embed(n[0], ids, 2) }, table)
		}},
		{"CrossEntropy", func(g *Graph) (*G.Node, error) {
			tg := setInput(t, g, "targets", []float64{0, 4, -1, 2, -1, 3}, 6)
			zn, err := g.Param(logits)
			if err != nil {
				return nil, err
			}
			return CrossEntropy(zn, tg)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkGrad(t, tc.build) })
	}
}

// chain binds params, applies f and reduces with a random weighted sum.
func chain(g *Graph, f func(...*G.Node) (*G.Node, error), ps ...*Param) (*G.Node, error) {
	nodes := make([]*G.Node, len(ps))
	for i, p := range ps {
		n, err := g.Param(p)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
	}
	y, err := f(nodes...)
	if err != nil {
		return nil, err
	}
	return WeightedSum(g, "r", y, newRand(99))
}

// TestMaskedSoftmaxFullyMasked: a row with every key masked is all zeros,
// not NaN, forward and backward.
func TestMaskedSoftmaxFullyMasked(t *testing.T) {
	rng := newRand(4)
	s := randParam(t, rng, "s", 2, 1, 2, 3)
	g, _ := NewGraph(tensor.Float64, true)
	sn, _ := g.Param(s)
	keep := setInput(t, g, "keep", []float64{1, 0, 1, 0, 0, 0}, 2, 3)
	w, err := MaskedSoftmax(sn, keep, 1)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := WeightedSum(g, "r", w, newRand(5))
	if err != nil {
		t.Fatal(err)
	}
	prog := runOnce(t, g, loss, true, w)
	ws := ToFloat64s(prog.Output(0))
	for i, v := range ws[6:] { // the second batch row: all keys masked
		if v != 0 {
			t.Errorf("fully masked weight %d = %v, want 0", i, v)
		}
	}
	for i, v := range ToFloat64s(prog.Grads()[0]) {
		if v != v {
			t.Errorf("gradient %d is NaN", i)
		}
	}
	if l := prog.Loss(); l != l {
		t.Error("loss is NaN")
	}
}

func TestAttentionOpGradients(t *testing.T) {
	rng := newRand(7)
	a := randParam(t, rng, "a", 2, 3, 6)
	b := randParam(t, rng, "b", 2, 3, 6)
	s := randParam(t, rng, "s", 2, 3, 3, 3)
	for _, tc := range []struct {
		name  string
		build func(g *Graph) (*G.Node, error)
	}{
		{"HeadScores", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return HeadScores(n[0], n[1], 3) }, a, b)
		}},
		{"HeadMix", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return HeadMix(n[0], n[1], false) }, s, b)
		}},
		{"HeadMixTransposed", func(g *Graph) (*G.Node, error) {
			return chain(g, func(n ...*G.Node) (*G.Node, error) { return HeadMix(n[0], n[1], true) }, s, b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkGrad(t, tc.build) })
	}
}

// TestKernelPanicIsError: a kernel that panics fails the run with an error
// instead of ending the program from Gorgonia's goroutine.
func TestKernelPanicIsError(t *testing.T) {
	g, _ := NewGraph(tensor.Float64, false)
	x := setInput(t, g, "x", []float64{1, 2, 3}, 3)
	boom := func(out []float64, in [][]float64, _ []tensor.Shape) error {
		_ = in[0][len(in[0])+len(out)] // out of range
		return nil
	}
	y, err := apply(&customOp{
		name: "Boom", inDims: dimsOf(x), outDims: 1, shape: sameShape,
		k: kernelOf(func([]float32, [][]float32, []tensor.Shape) error { return nil }, boom),
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(g, nil, false, y)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	err = prog.Run()
	if err == nil || !strings.Contains(err.Error(), "Boom") || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("run with a panicking kernel: error %v, want one naming the op and the panic", err)
	}
}
