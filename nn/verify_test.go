package nn

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gorgonia tells nodes apart by a 32-bit FNV-1a hash and merges nodes whose
// hashes collide. The pairs below collide (found by search over names and
// constants; each test checks the collision before it relies on it):
// inputs "x522789" and "x739192" of shape [2,3] in float64, and
// Scale{982263} and Scale{1000100} of the input "a" of that shape.
var (
	collidingInputs = [2]string{"x522789", "x739192"}
	collidingScales = [2]float64{982263, 1000100}
)

var (
	aValues = []float64{1, 2, 3, 4, 5, 6}
	bValues = []float64{10, 20, 30, 40, 50, 60}
)

// minusProgram compiles a − b for inputs named a and b, [2,3] float64, in
// round r, with the inputs filled.
func minusProgram(t *testing.T, a, b string, r int) (*Program, *G.Node, *G.Node, error) {
	t.Helper()
	g, err := NewGraph(tensor.Float64, false)
	if err != nil {
		t.Fatal(err)
	}
	g.SetRound(r)
	an, av, err := g.Input(a, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	bn, bv, err := g.Input(b, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	FromFloat64s(av, aValues)
	FromFloat64s(bv, bValues)
	z, err := Minus(an, bn)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(g, nil, false, z)
	return p, an, bn, err
}

// wantOutput runs p and checks its output against want.
func wantOutput(t *testing.T, p *Program, want []float64) {
	t.Helper()
	if err := p.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := ToFloat64s(p.Output(0)); !slices.Equal(got, want) {
		t.Fatalf("output %v, want %v", got, want)
	}
}

func difference(x, y []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] - y[i]
	}
	return out
}

// TestVerifyMergedInputs: two inputs whose hashes collide are loaded into
// one register by Gorgonia, so a − b computes 0; Compile refuses the
// program. Inputs whose hashes differ compile and compute a − b.
func TestVerifyMergedInputs(t *testing.T) {
	p, a, b, err := minusProgram(t, "x1", "x2", 0)
	if err != nil {
		t.Fatalf("inputs that do not collide: %v", err)
	}
	if a.Hashcode() == b.Hashcode() {
		t.Fatal("x1 and x2 collide")
	}
	wantOutput(t, p, difference(aValues, bValues))
	p.Close()

	_, a, b, err = minusProgram(t, collidingInputs[0], collidingInputs[1], 0)
	if a == b || a.Hashcode() != b.Hashcode() {
		t.Fatalf("%v do not collide: hashes %x and %x", collidingInputs, a.Hashcode(), b.Hashcode())
	}
	if !errors.Is(err, ErrCorruptProgram) {
		t.Fatalf("colliding inputs: Compile = %v, want ErrCorruptProgram", err)
	}
}

// TestVerifyMergedOps: of two ops whose hashes collide Gorgonia runs one,
// and the other's readers read its value; Compile refuses the program.
// Ops whose hashes differ compile and compute what they should.
func TestVerifyMergedOps(t *testing.T) {
	for _, c := range []struct {
		scales  [2]float64
		collide bool
	}{{[2]float64{2, 3}, false}, {collidingScales, true}} {
		g, err := NewGraph(tensor.Float64, false)
		if err != nil {
			t.Fatal(err)
		}
		a, av, err := g.Input("a", 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		FromFloat64s(av, aValues)
		y0, err := Scale(a, c.scales[0])
		if err != nil {
			t.Fatal(err)
		}
		y1, err := Scale(a, c.scales[1])
		if err != nil {
			t.Fatal(err)
		}
		if (y0.Hashcode() == y1.Hashcode()) != c.collide {
			t.Fatalf("Scale%v: hashes %x and %x, want collide = %v", c.scales, y0.Hashcode(), y1.Hashcode(), c.collide)
		}
		z, err := Minus(y0, y1)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(g, nil, false, z)
		if c.collide {
			if !errors.Is(err, ErrCorruptProgram) {
				t.Errorf("Scale%v collide: Compile = %v, want ErrCorruptProgram", c.scales, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Scale%v: %v", c.scales, err)
		}
		want := make([]float64, len(aValues))
		for i, v := range aValues {
			want[i] = (c.scales[0] - c.scales[1]) * v
		}
		wantOutput(t, p, want)
		p.Close()
	}
}

// TestRunChecksLeaves: a compiled program refuses to run once one of its
// inputs is renamed or bound to another value (as a node Gorgonia hands
// out again while it is in use would be), and runs again once it is
// restored.
func TestRunChecksLeaves(t *testing.T) {
	p, a, _, err := minusProgram(t, "a", "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want := difference(aValues, bValues)
	wantOutput(t, p, want)

	G.WithName("input.c")(a)
	if err := p.Run(); !errors.Is(err, ErrCorruptProgram) {
		t.Errorf("Run after a rename = %v, want ErrCorruptProgram", err)
	}
	G.WithName("input.a")(a)
	wantOutput(t, p, want)

	v := a.Value()
	if err := G.Let(a, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(slices.Clone(aValues)))); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); !errors.Is(err, ErrCorruptProgram) {
		t.Errorf("Run after binding another value = %v, want ErrCorruptProgram", err)
	}
	if err := G.Let(a, v); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, p, want)
}

// The fake tape machine of TestVerifyMisreadOperand: a program laid out as
// Gorgonia's is (a slice of instructions, loads by value and ops by
// pointer, registers {id, device}), read by verify the same way.
type (
	loadArg struct {
		index   int64
		writeTo register
	}
	execOp struct {
		id       int64
		readFrom []register
		writeTo  register
	}
	fakeProgram struct{ instructions []any }
	fakeVM      struct {
		prog *fakeProgram
		loc  map[*G.Node]register
	}
)

func (m *fakeVM) Prog() *fakeProgram           { return m.prog }
func (m *fakeVM) LocMap() map[*G.Node]register { return m.loc }
func (m *fakeVM) RunAll() error                { return nil }
func (m *fakeVM) Reset()                       {}
func (m *fakeVM) Close() error                 { return nil }

// copyProgram copies the loads, the ops and the registers of Gorgonia's
// program vm into a fakeVM.
func copyProgram(t *testing.T, vm G.VM) *fakeVM {
	t.Helper()
	loc, instrs, err := programOf(vm)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeVM{prog: &fakeProgram{}, loc: map[*G.Node]register{}}
	for it := loc.MapRange(); it.Next(); {
		f.loc[it.Key().Interface().(*G.Node)] = readRegister(it.Value())
	}
	for _, in := range instrs {
		switch in.Type().Name() {
		case "loadArg":
			f.prog.instructions = append(f.prog.instructions, loadArg{in.FieldByName("index").Int(), readRegister(in.FieldByName("writeTo"))})
		case "execOp":
			f.prog.instructions = append(f.prog.instructions, &execOp{in.FieldByName("id").Int(), registers(in.FieldByName("readFrom")), readRegister(in.FieldByName("writeTo"))})
		}
	}
	return f
}

// TestVerifyCopiedProgram: a copy of the program of a − b passes verify
// as it is, and fails once its Minus reads its operands from each other's
// registers (b − a) or writes its result over a, which later readers of a
// would then read.
func TestVerifyCopiedProgram(t *testing.T) {
	p, a, _, err := minusProgram(t, "a", "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, c := range []struct {
		name   string
		change func(f *fakeVM, op *execOp)
	}{
		{"faithful", nil},
		{"operands swapped", func(_ *fakeVM, op *execOp) { slices.Reverse(op.readFrom) }},
		{"result over an operand", func(f *fakeVM, op *execOp) { op.writeTo = f.loc[a] }},
	} {
		f := copyProgram(t, p.vm)
		var ops []*execOp
		for _, in := range f.prog.instructions {
			if op, ok := in.(*execOp); ok {
				ops = append(ops, op)
			}
		}
		if len(ops) != 1 {
			t.Fatalf("copied %d ops, want the one Minus", len(ops))
		}
		if c.change != nil {
			c.change(f, ops[0])
		}
		err := verify(p.g, f, nil)
		if c.change != nil && !errors.Is(err, ErrCorruptProgram) {
			t.Errorf("%s: verify = %v, want ErrCorruptProgram", c.name, err)
		}
		if c.change == nil && err != nil {
			t.Errorf("%s: verify = %v", c.name, err)
		}
	}
}

// TestRebuild: a graph whose inputs collide in round 0 is built again in
// round 1, where they do not, and computes a − b; other errors end the
// rounds at once; a fault in every round gives up after four.
func TestRebuild(t *testing.T) {
	var rounds []int
	p, err := Rebuild(func(r int) (*Program, error) {
		rounds = append(rounds, r)
		p, _, _, err := minusProgram(t, collidingInputs[0], collidingInputs[1], r)
		return p, err
	})
	if err != nil || !slices.Equal(rounds, []int{0, 1}) {
		t.Fatalf("Rebuild of colliding inputs: rounds %v, error %v; want rounds [0 1] and no error", rounds, err)
	}
	wantOutput(t, p, difference(aValues, bValues))
	p.Close()

	other := errors.New("not a corrupt program")
	rounds = nil
	if _, err := Rebuild(func(r int) (int, error) { rounds = append(rounds, r); return 0, other }); err != other || len(rounds) != 1 {
		t.Errorf("another error: Rebuild = %v after rounds %v, want it after round 0 alone", err, rounds)
	}
	rounds = nil
	if _, err := Rebuild(func(r int) (int, error) { rounds = append(rounds, r); return 0, ErrCorruptProgram }); !errors.Is(err, ErrCorruptProgram) || len(rounds) != buildRounds {
		t.Errorf("a fault in every round: Rebuild = %v after rounds %v, want ErrCorruptProgram after %d", err, rounds, buildRounds)
	}
}

// fnv32a's constants and one step, forward and back.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func fnvStep(h uint32, b byte) uint32 { return (h ^ uint32(b)) * fnvPrime }

// fnvPrimeInverse is the inverse of fnvPrime modulo 2³² (Newton's method:
// each step doubles the correct low bits).
var fnvPrimeInverse = func() uint32 {
	x := uint32(fnvPrime) // correct to 3 bits: p·p ≡ 1 mod 8 for odd p
	for range 5 {
		x *= 2 - fnvPrime*x
	}
	return x
}()

func fnvUnstep(h uint32, b byte) uint32 { return h*fnvPrimeInverse ^ uint32(b) }

// collidingSuffix returns five bytes s such that FNV-1a of prefix+s+tail is
// target: the two first by a table of every state they reach, the three
// last by running back from target (256 solutions are expected).
func collidingSuffix(prefix []byte, tail []byte, target uint32) (string, bool) {
	h := uint32(fnvOffset)
	for _, b := range prefix {
		h = fnvStep(h, b)
	}
	front := make(map[uint32][2]byte, 1<<16)
	for i := range 1 << 16 {
		b := [2]byte{byte(i), byte(i >> 8)}
		front[fnvStep(fnvStep(h, b[0]), b[1])] = b
	}
	t := target
	for i := len(tail) - 1; i >= 0; i-- {
		t = fnvUnstep(t, tail[i])
	}
	for i := range 1 << 24 {
		b := [3]byte{byte(i), byte(i >> 8), byte(i >> 16)}
		x := fnvUnstep(fnvUnstep(fnvUnstep(t, b[2]), b[1]), b[0])
		if f, ok := front[x]; ok {
			return string([]byte{f[0], f[1], b[0], b[1], b[2]}), true
		}
	}
	return "", false
}

// TestVerifyReadCollision reproduces the fault that failed CI at 2ef4463.
// Gorgonia hashes a Read node by the address it reads into, so each
// compile gives it a fresh 32-bit hash. When it collides with an input
// made before it, the compiler merges the read into the input and the
// register allocator gives the input a statement's register: the zero
// register, the first input's. The input is then loaded over the first
// input, which an op still reads (there, the embedding's table over the
// token ids). Here the input's name is chosen to collide with the read's
// hash, which the same read in a copy of the graph shows beforehand:
// c − a computes 0 where Compile does not refuse it.
func TestVerifyReadCollision(t *testing.T) {
	var into G.Value
	negated := func(g *Graph) (*G.Node, *G.Node) {
		a, av, err := g.Input("a", 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		FromFloat64s(av, aValues)
		y, err := Neg(a)
		if err != nil {
			t.Fatal(err)
		}
		return a, y
	}
	scratch, err := NewGraph(tensor.Float64, false)
	if err != nil {
		t.Fatal(err)
	}
	_, y := negated(scratch)
	hash := G.Read(y, &into).Hashcode()

	g, err := NewGraph(tensor.Float64, false)
	if err != nil {
		t.Fatal(err)
	}
	a, y := negated(g)
	prefix := fmt.Appendf(nil, "%v%vinput.c", a.Type(), a.Shape())
	suffix, ok := collidingSuffix(prefix, []byte{0}, hash)
	if !ok {
		t.Fatalf("no name collides with the read's hash %x", hash)
	}
	c, cv, err := g.Input("c"+suffix, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	FromFloat64s(cv, bValues)
	if r := G.Read(y, &into); c.Hashcode() != hash || r.Hashcode() != hash {
		t.Fatalf("hashes: input %x, read %x, want both %x", c.Hashcode(), r.Hashcode(), hash)
	}
	z, err := Minus(c, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(g, nil, false, z); !errors.Is(err, ErrCorruptProgram) {
		t.Fatalf("an input colliding with a read: Compile = %v, want ErrCorruptProgram", err)
	}
}

// TestReadHash: readHash is the hash Gorgonia gives a Read node, for
// nodes of either dtype, of several shapes, inputs and ops.
func TestReadHash(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		g, err := NewGraph(dt, false)
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := g.Input("a", 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := g.Input("b", 4)
		if err != nil {
			t.Fatal(err)
		}
		y, err := Neg(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []*G.Node{a, b, y} {
			at := new(G.Value)
			if want := readHash(n, at); G.Read(n, at).Hashcode() != want {
				t.Errorf("%v %v: readHash %x, Gorgonia's %x", dt, n, want, G.Read(n, at).Hashcode())
			}
		}
	}
}

// TestReadIntoSkipsTaken: a holder whose read would hash like a node
// already in the graph is passed over for the next one.
func TestReadIntoSkipsTaken(t *testing.T) {
	g, err := NewGraph(tensor.Float64, false)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := g.Input("a", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	first, second := new(G.Value), new(G.Value)
	taken := nodeHashes(g)
	taken[readHash(a, first)] = true // as if a node of g hashed so
	holders := []*G.Value{first, second}
	defer func(f func() *G.Value) { newHolder = f }(newHolder)
	newHolder = func() *G.Value { h := holders[0]; holders = holders[1:]; return h }

	v := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]float64, 6)))
	if at := readInto(a, v, taken); at != second || *at != G.Value(v) {
		t.Fatalf("readInto read into %p holding %v, want the second holder %p holding the value", at, *at, second)
	}
	if !taken[readHash(a, second)] {
		t.Error("the read's hash is not taken after it")
	}
	reads := 0
	for _, n := range g.g.AllNodes() {
		if n.Hashcode() == readHash(a, first) {
			t.Error("a read into the passed-over holder is in the graph")
		}
		if n.Hashcode() == readHash(a, second) {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d reads into the second holder in the graph, want 1", reads)
	}
}

// registers reads a slice of Gorgonia's registers.
func registers(v reflect.Value) []register {
	out := make([]register, v.Len())
	for i := range out {
		out[i] = readRegister(v.Index(i))
	}
	return out
}
