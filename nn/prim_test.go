package nn

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// primCtx builds one case's graph: parameters (checked by finite
// differences) and data inputs (not checked) of the shapes a case asks for.
type primCtx struct {
	t   *testing.T
	g   *Graph
	rng *rand.Rand
	n   int
}

func (c *primCtx) name() string { c.n++; return "p" + string(rune('a'+c.n)) }

// param returns a parameter of N(0,1) values plus shift.
func (c *primCtx) param(shift float64, shape ...int) *G.Node {
	c.t.Helper()
	p, err := NewParam(c.name(), tensor.Float64, shape...)
	if err != nil {
		c.t.Fatal(err)
	}
	v := make([]float64, p.Size())
	for i := range v {
		v[i] = c.rng.NormFloat64() + shift
	}
	if err := p.SetFloat64s(v); err != nil {
		c.t.Fatal(err)
	}
	n, err := c.g.Param(p)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c *primCtx) x(shape ...int) *G.Node { return c.param(0, shape...) }

// positive returns a parameter with values in [0.5, 2.5).
func (c *primCtx) positive(shape ...int) *G.Node {
	c.t.Helper()
	n := c.param(0, shape...)
	v := n.Value().Data().([]float64)
	for i := range v {
		v[i] = 0.5 + 2*c.rng.Float64()
	}
	return n
}

// input returns a data input holding vals(i) at each index.
func (c *primCtx) input(vals func(i int) float64, shape ...int) *G.Node {
	c.t.Helper()
	n, v, err := c.g.Input(c.name(), shape...)
	if err != nil {
		c.t.Fatal(err)
	}
	s := v.Data().([]float64)
	for i := range s {
		s[i] = vals(i)
	}
	return n
}

// mask returns a 0/1 input, 1 with probability one half.
func (c *primCtx) mask(shape ...int) *G.Node {
	return c.input(func(int) float64 { return float64(c.rng.IntN(2)) }, shape...)
}

// d returns a random size in [1, 4]: the size-1 edge comes up often.
func (c *primCtx) d() int { return 1 + c.rng.IntN(4) }

type primCase struct {
	prim, desc string
	build      func(c *primCtx) (*G.Node, error)
}

// primCases is the table TestPrimitives walks: every primitive, with random
// shapes (sizes drawn per run of the case from a seeded generator),
// broadcasting and size-1 edges.
func primCases() []primCase {
	bin := func(f func(x, y *G.Node) (*G.Node, error), pos bool) []func(c *primCtx) (*G.Node, error) {
		y := func(c *primCtx, shape ...int) *G.Node {
			if pos {
				return c.positive(shape...)
			}
			return c.x(shape...)
		}
		return []func(c *primCtx) (*G.Node, error){
			func(c *primCtx) (*G.Node, error) { a, b := c.d(), c.d(); return f(c.x(a, b), y(c, a, b)) },
			func(c *primCtx) (*G.Node, error) { a, b := c.d(), c.d(); return f(c.x(2, a, b), y(c, b)) },
			func(c *primCtx) (*G.Node, error) { a, b := c.d(), c.d(); return f(c.x(a, 1, b), y(c, 1, 3, b)) },
			func(c *primCtx) (*G.Node, error) { return f(c.x(1), y(c, 2, 3)) },
		}
	}
	var cases []primCase
	add := func(prim, desc string, fs ...func(c *primCtx) (*G.Node, error)) {
		for _, f := range fs {
			cases = append(cases, primCase{prim, desc, f})
		}
	}
	add("Plus", "broadcast", bin(Plus, false)...)
	add("Minus", "broadcast", bin(Minus, false)...)
	add("Times", "broadcast", bin(Times, false)...)
	add("Divide", "broadcast", bin(Divide, true)...)
	un := func(f func(*G.Node) (*G.Node, error), pos bool) func(c *primCtx) (*G.Node, error) {
		return func(c *primCtx) (*G.Node, error) {
			if pos {
				return f(c.positive(c.d(), c.d(), c.d()))
			}
			return f(c.x(c.d(), c.d(), c.d()))
		}
	}
	add("Neg", "", un(Neg, false))
	add("Scale", "", un(func(x *G.Node) (*G.Node, error) { return Scale(x, -1.7) }, false))
	add("Shift", "", un(func(x *G.Node) (*G.Node, error) { return Shift(x, 0.3) }, false))
	add("Exp", "", un(Exp, false))
	add("Log", "", un(Log, true))
	add("Sqrt", "", un(Sqrt, true))
	add("Rsqrt", "", un(Rsqrt, true))
	add("Tanh", "", un(Tanh, false))
	add("Sigmoid", "", un(Sigmoid, false))
	add("Erf", "", un(Erf, false))
	add("ReLU", "", un(ReLU, false))
	add("GELU", "", un(GELU, false))
	add("Step", "times x, so the zero gradient is part of a product", func(c *primCtx) (*G.Node, error) {
		x := c.x(c.d(), c.d())
		s, err := Step(x)
		if err != nil {
			return nil, err
		}
		return Times(x, s)
	})
	add("MatMul", "batched, every transpose", func(c *primCtx) (*G.Node, error) {
		b, m, k, n := c.d(), c.d(), c.d(), c.d()
		ta, tb := c.rng.IntN(2) == 1, c.rng.IntN(2) == 1
		as, bs := []int{b, 2, m, k}, []int{b, 2, k, n}
		if ta {
			as[2], as[3] = k, m
		}
		if tb {
			bs[2], bs[3] = n, k
		}
		return MatMul(c.x(as...), c.x(bs...), ta, tb)
	}, func(c *primCtx) (*G.Node, error) {
		b, m, k, n := c.d(), c.d(), c.d(), c.d()
		ta, tb := c.rng.IntN(2) == 1, c.rng.IntN(2) == 1
		as, bs := []int{b, m, k}, []int{k, n}
		if ta {
			as[1], as[2] = k, m
		}
		if tb {
			bs[0], bs[1] = n, k
		}
		return MatMul(c.x(as...), c.x(bs...), ta, tb) // 3-D × shared 2-D
	}, func(c *primCtx) (*G.Node, error) {
		x := c.x(c.d(), 3)
		return MatMul(x, x, false, true) // one node on both sides
	})
	for _, p := range []struct {
		name string
		f    func(*G.Node, bool, ...int) (*G.Node, error)
	}{{"Sum", Sum}, {"Mean", Mean}, {"Max", Max}} {
		add(p.name, "one axis, kept", func(c *primCtx) (*G.Node, error) { return p.f(c.x(c.d(), c.d(), c.d()), true, 1) })
		add(p.name, "two axes, dropped", func(c *primCtx) (*G.Node, error) { return p.f(c.x(c.d(), c.d(), c.d()), false, 0, -1) })
		add(p.name, "all axes to a vector", func(c *primCtx) (*G.Node, error) {
			y, err := p.f(c.x(c.d(), c.d()), true, 0, 1)
			if err != nil {
				return nil, err
			}
			return Reshape(y, 1)
		})
	}
	add("Softmax", "each axis", func(c *primCtx) (*G.Node, error) { return Softmax(c.x(c.d(), c.d(), 3), c.rng.IntN(3)) })
	add("LogSoftmax", "each axis", func(c *primCtx) (*G.Node, error) { return LogSoftmax(c.x(c.d(), c.d(), 3), -1-c.rng.IntN(3)) })
	add("BroadcastTo", "", func(c *primCtx) (*G.Node, error) { a := c.d(); return BroadcastTo(c.x(1, a), 2, 3, a) }, func(c *primCtx) (*G.Node, error) {
		a := c.d()
		return BroadcastTo(c.x(a, 1), 2, a, 3)
	})
	add("Reshape", "", func(c *primCtx) (*G.Node, error) { return Reshape(c.x(2, c.d(), 3), 3, -1) })
	add("Permute", "", func(c *primCtx) (*G.Node, error) { return Permute(c.x(c.d(), c.d(), c.d(), 2), 0, 2, 1, 3) },
		func(c *primCtx) (*G.Node, error) { return Permute(c.x(2, c.d(), 3), 2, 0, 1) })
	add("Transpose", "", func(c *primCtx) (*G.Node, error) { return Transpose(c.x(c.d(), 2, 3), -1, 0) })
	add("Slice", "", func(c *primCtx) (*G.Node, error) { return Slice(c.x(c.d(), 5, c.d()), 1, 1, 4) },
		func(c *primCtx) (*G.Node, error) { return Slice(c.x(3, c.d()), 0, 2, 3) })
	add("Split", "", func(c *primCtx) (*G.Node, error) {
		p, err := Split(c.x(c.d(), 4, c.d()), 1)
		if err != nil {
			return nil, err
		}
		pp, err := Times(p[0], p[3]) // a piece used twice, and pieces used once
		if err != nil {
			return nil, err
		}
		return Concat(0, pp, p[1], p[2], p[3])
	}, func(c *primCtx) (*G.Node, error) {
		p, err := Split(c.x(3, c.d()), 0)
		if err != nil {
			return nil, err
		}
		return Concat(0, p[2], p[0], p[1])
	}, func(c *primCtx) (*G.Node, error) {
		x := c.x(3, c.d())
		p, err := Split(x, 0)
		if err != nil {
			return nil, err
		}
		q, err := Split(x, 0) // a second Split of the same node
		if err != nil {
			return nil, err
		}
		return Concat(0, q[2], p[0], q[1], p[1], p[2], q[0])
	})
	add("Concat", "", func(c *primCtx) (*G.Node, error) {
		a, b := c.d(), c.d()
		return Concat(1, c.x(a, 1, b), c.x(a, 3, b), c.x(a, 2, b))
	}, func(c *primCtx) (*G.Node, error) { x := c.x(2, c.d()); return Concat(-1, x, x) })
	add("MaskedFill", "broadcast mask", func(c *primCtx) (*G.Node, error) {
		a, b := c.d(), c.d()
		return MaskedFill(c.x(2, a, b), c.mask(a, b), -3)
	})
	add("Where", "broadcast", func(c *primCtx) (*G.Node, error) {
		a, b := c.d(), c.d()
		return Where(c.mask(a, 1), c.x(a, b), c.x(b))
	}, func(c *primCtx) (*G.Node, error) { return Where(c.mask(2, 3), c.x(1), c.x(2, 1)) })
	add("Gather", "repeated ids", func(c *primCtx) (*G.Node, error) {
		v := c.d() + 1
		return Gather(c.x(v, c.d()), c.input(func(int) float64 { return float64(c.rng.IntN(v)) }, c.d(), 3))
	})
	add("OneHot", "times logits, with an ignored id", func(c *primCtx) (*G.Node, error) {
		n := c.d() + 1
		ids := c.input(func(i int) float64 { return float64(c.rng.IntN(n+1) - 1) }, 4)
		oh, err := OneHot(ids, n)
		if err != nil {
			return nil, err
		}
		return Times(oh, c.x(4, n))
	})
	add("Dropout", "training graph, mask drawn by prepare", func(c *primCtx) (*G.Node, error) {
		return c.g.Dropout("d", c.x(c.d(), 3), 0.4)
	})
	return cases
}

// TestPrimitives checks the gradient of every primitive by finite
// differences of L = Σ r⊙y (r fixed, random), in float64, and fails when
// the table misses a primitive or names one that is not registered.
func TestPrimitives(t *testing.T) {
	cases := primCases()
	covered := map[string]bool{}
	for _, pc := range cases {
		covered[pc.prim] = true
	}
	for _, name := range primitiveNames() {
		if !covered[name] {
			t.Errorf("primitive %s has no case in the table", name)
		}
		delete(covered, name)
	}
	for name := range covered {
		t.Errorf("table case for %s, which is not a registered primitive", name)
	}
	for i, pc := range cases {
		t.Run(pc.prim+"/"+pc.desc, func(t *testing.T) {
			for rep := 0; rep < 2; rep++ { // two draws of the random shapes
				rng := newRand(uint64(100*i + rep))
				res, err := GradCheck(func(g *Graph) (*G.Node, error) {
					y, err := pc.build(&primCtx{t: t, g: g, rng: rng})
					if err != nil {
						return nil, err
					}
					t.Logf("output %v", y.Shape())
					return WeightedSum(g, "r", y, rng)
				}, func(g *Graph) { g.SampleDropout(newRand(7)) }, fdStep, fdFloor)
				if err != nil {
					t.Fatal(err)
				}
				if !(res.RelErr <= fdTol) {
					t.Errorf("worst %v", res)
				}
			}
		})
	}
}

// TestPrimitiveRegistry fails if a prim_*.go file exports a function that
// primitiveNames does not list, so a new primitive cannot skip the table.
func TestPrimitiveRegistry(t *testing.T) {
	files, err := filepath.Glob("prim_*.go")
	if err != nil {
		t.Fatal(err)
	}
	registered := primitiveNames()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() || fn.Recv != nil {
				continue
			}
			found++
			if !slices.Contains(registered, fn.Name.Name) {
				t.Errorf("%s: exported %s is not in primitiveNames", f, fn.Name.Name)
			}
		}
	}
	if found < 20 {
		t.Errorf("found only %d exported functions in prim_*.go", found)
	}
}
