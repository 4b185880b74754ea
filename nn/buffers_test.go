package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sharedNet is a small attention block compiled for one batch size: the
// fused ops a transformer layer runs (LinearReLU, Linear, the attention
// products and masked softmax, Add, LayerNorm, CrossEntropy).
type sharedNet struct {
	prog                *Program
	x, keep, targets    *tensor.Dense
	b, t, d, heads, voc int
}

func buildSharedNet(t *testing.T, dt tensor.Dtype, ps map[string]*Param, b int, training bool, buf *Buffers) *sharedNet {
	t.Helper()
	n := &sharedNet{b: b, t: 4, d: 8, heads: 2, voc: 5}
	g, err := NewGraph(dt, training)
	if err != nil {
		t.Fatal(err)
	}
	if buf != nil {
		g.ShareBuffers(buf)
	}
	must := func(x *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	p := func(name string) *G.Node { return must(g.Param(ps[name])) }
	var x, keep, targets *G.Node
	x, n.x, err = g.Input("x", b, n.t, n.d)
	if err != nil {
		t.Fatal(err)
	}
	keep, n.keep, err = g.Input("keep", b, n.t)
	if err != nil {
		t.Fatal(err)
	}
	targets, n.targets, err = g.Input("targets", b*n.t)
	if err != nil {
		t.Fatal(err)
	}
	h := must(LinearReLU(x, p("w1"), p("b1")))
	q := must(Linear(h, p("wq"), p("bq")))
	k := must(Linear(h, p("wk"), p("bk")))
	v := must(Linear(h, p("wv"), p("bv")))
	att, _, err := ScaledDotProductAttention(g, "att", q, k, v, keep, n.heads, 0)
	if err != nil {
		t.Fatal(err)
	}
	y := must(LayerNorm(must(Add(att, h)), p("gamma"), p("beta"), 1e-5))
	logits := must(Linear(must(G.Reshape(y, tensor.Shape{b * n.t, n.d})), p("wo"), p("bo")))
	loss := must(CrossEntropy(logits, targets))
	if n.prog, err = Compile(g, loss, training, logits); err != nil {
		t.Fatal(err)
	}
	return n
}

// run loads inputs drawn from seed and returns the loss, the logits and
// (for a training program) the gradients, all copied.
func (n *sharedNet) run(t *testing.T, seed uint64) []float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n.b*n.t*n.d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	keep := make([]float64, n.b*n.t)
	targets := make([]float64, n.b*n.t)
	for i := range keep {
		keep[i] = 1
		if i%n.t == n.t-1 && rng.IntN(2) == 0 {
			keep[i] = 0 // padding at the end of some rows
		}
		targets[i] = float64(rng.IntN(n.voc))
	}
	FromFloat64s(n.x, x)
	FromFloat64s(n.keep, keep)
	FromFloat64s(n.targets, targets)
	if err := n.prog.Run(); err != nil {
		t.Fatal(err)
	}
	out := append([]float64{n.prog.Loss()}, ToFloat64s(n.prog.Output(0))...)
	for _, gr := range n.prog.Grads() {
		out = append(out, ToFloat64s(gr)...)
	}
	return out
}

// bufStart is the address of the buffers' first element, nil if empty.
func bufStart(b *Buffers) any {
	if len(b.f32) > 0 {
		return &b.f32[0]
	}
	if len(b.f64) > 0 {
		return &b.f64[0]
	}
	return nil
}

// TestSharedBuffersEqualOwn runs programs of three batch sizes, training
// and evaluation, that share their buffers, in an interleaved order, and
// checks every run bit for bit against the same programs with buffers of
// their own; that the shared buffers hold as much as the largest program
// takes, not the sum; and that, reserved for all of them first, they are
// never allocated again.
func TestSharedBuffersEqualOwn(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, reserve := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/reserve=%v", dt, reserve), func(t *testing.T) { testSharedBuffers(t, dt, reserve) })
		}
	}
}

func testSharedBuffers(t *testing.T, dt tensor.Dtype, reserve bool) {
	rng := newRand(3)
	ps := map[string]*Param{}
	for name, shape := range map[string][]int{
		"w1": {8, 8}, "b1": {8}, "wq": {8, 8}, "bq": {8}, "wk": {8, 8}, "bk": {8},
		"wv": {8, 8}, "bv": {8}, "gamma": {8}, "beta": {8}, "wo": {5, 8}, "bo": {5},
	} {
		p, err := NewParam(name, dt, shape...)
		if err != nil {
			t.Fatal(err)
		}
		if err := Normal(0.5)(p, rng); err != nil {
			t.Fatal(err)
		}
		ps[name] = p
	}
	buf := NewBuffers()
	kinds := []struct {
		b        int
		training bool
	}{{3, true}, {6, false}, {2, true}}
	var shared, own []*sharedNet
	for _, k := range kinds {
		shared = append(shared, buildSharedNet(t, dt, ps, k.b, k.training, buf))
		own = append(own, buildSharedNet(t, dt, ps, k.b, k.training, nil))
	}
	if reserve {
		buf.Reserve(shared[0].prog, shared[1].prog, shared[2].prog)
	}
	first := bufStart(buf)
	for i, which := range []int{0, 1, 0, 2, 1, 0, 2, 2, 1} {
		seed := uint64(10 + i)
		got, want := shared[which].run(t, seed), own[which].run(t, seed)
		if !slices.Equal(got, want) {
			t.Fatalf("run %d (program %d): shared buffers give %v…, own buffers %v…", i, which, got[:3], want[:3])
		}
	}
	largest, sum := 0, 0
	for _, n := range shared {
		largest, sum = max(largest, n.prog.bufLen), sum+n.prog.bufLen
	}
	held := len(buf.f32) + len(buf.f64)
	if held != largest || largest == 0 || largest >= sum {
		t.Errorf("shared buffers hold %d elements; the programs take %d at most, %d together", held, largest, sum)
	}
	if reserve && bufStart(buf) != first {
		t.Errorf("the buffers were allocated again after Reserve: Reserve should size them for the largest program")
	}

}
