package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

func newParam(t testing.TB, name string, dt tensor.Dtype, vals []float64, shape ...int) *nn.Param {
	t.Helper()
	p, err := nn.NewParam(name, dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if vals != nil {
		if err := p.SetFloat64s(vals); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func newDense(dt tensor.Dtype, vals []float64, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	nn.FromFloat64s(d, vals)
	return d
}

// randomProblem returns float64 and float32 parameters of a few shapes and a
// source of gradients for them, seeded.
func randomProblem(t testing.TB, seed uint64) ([]*nn.Param, func() []*tensor.Dense) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	shapes := []struct {
		name  string
		dt    tensor.Dtype
		shape []int
	}{
		{"enc.w", tensor.Float64, []int{3, 4}},
		{"enc.b", tensor.Float64, []int{4}},
		{"head.w", tensor.Float32, []int{2, 2, 3}},
		{"head.b", tensor.Float32, []int{1}},
	}
	params := make([]*nn.Param, len(shapes))
	for i, s := range shapes {
		params[i] = newParam(t, s.name, s.dt, nil, s.shape...)
		vals := params[i].Float64s()
		for j := range vals {
			vals[j] = rng.NormFloat64()
		}
		if err := params[i].SetFloat64s(vals); err != nil {
			t.Fatal(err)
		}
	}
	grads := func() []*tensor.Dense {
		gs := make([]*tensor.Dense, len(params))
		for i, p := range params {
			vals := make([]float64, p.Size())
			for j := range vals {
				vals[j] = rng.NormFloat64()
			}
			gs[i] = newDense(p.Dtype(), vals, p.Shape().Clone()...)
		}
		return gs
	}
	return params, grads
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultAdam()
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"adam defaults", func(*Config) {}, ""},
		{"adamw defaults", func(c *Config) { *c = DefaultAdamW() }, ""},
		{"zero lr", func(c *Config) { c.LR = 0 }, ""},
		{"beta1 zero", func(c *Config) { c.Beta1 = 0 }, ""},
		{"negative lr", func(c *Config) { c.LR = -1e-3 }, "learning rate"},
		{"NaN lr", func(c *Config) { c.LR = math.NaN() }, "learning rate"},
		{"infinite lr", func(c *Config) { c.LR = math.Inf(1) }, "learning rate"},
		{"beta1 one", func(c *Config) { c.Beta1 = 1 }, "beta1"},
		{"beta1 negative", func(c *Config) { c.Beta1 = -0.1 }, "beta1"},
		{"beta2 one", func(c *Config) { c.Beta2 = 1 }, "beta2"},
		{"beta2 above one", func(c *Config) { c.Beta2 = 1.5 }, "beta2"},
		{"beta2 NaN", func(c *Config) { c.Beta2 = math.NaN() }, "beta2"},
		{"eps zero", func(c *Config) { c.Eps = 0 }, "eps"},
		{"eps negative", func(c *Config) { c.Eps = -1e-8 }, "eps"},
		{"negative weight decay", func(c *Config) { c.WeightDecay = -0.01 }, "weight decay"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		err := c.Validate()
		if !errorMatches(err, tt.wantErr) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
		if _, err := NewAdam(c); !errorMatches(err, tt.wantErr) {
			t.Errorf("%s: NewAdam() error = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

// errorMatches reports whether err is nil when want is empty, or else
// contains want and carries the package prefix.
func errorMatches(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.HasPrefix(err.Error(), "optim: ") && strings.Contains(err.Error(), want)
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		got  Config
		want Config
	}{
		{"DefaultAdam", DefaultAdam(), Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"DefaultAdamW", DefaultAdamW(), Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Decoupled: true}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s() = %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

// TestFirstStep checks step 1 against Kingma & Ba's algorithm by hand: the
// bias-corrected moments are g and g², so θ₁ = θ₀ − lr·g/(|g| + ε).
func TestFirstStep(t *testing.T) {
	const lr, wd, eps = 0.1, 0.5, 1e-8
	p0 := []float64{1, -2, 0.5}
	g := []float64{0.3, 0.02, -4}
	step := func(p, g float64) float64 { return p - lr*g/(math.Abs(g)+eps) }
	tests := []struct {
		name string
		cfg  Config
		want func(p, g float64) float64
	}{
		{"adam", Config{Beta1: 0.9, Beta2: 0.999, Eps: eps}, step},
		{"adam weight decay", Config{Beta1: 0.9, Beta2: 0.999, Eps: eps, WeightDecay: wd},
			func(p, g float64) float64 { return step(p, g+wd*p) }},
		{"adamw", Config{Beta1: 0.9, Beta2: 0.999, Eps: eps, WeightDecay: wd, Decoupled: true},
			func(p, g float64) float64 { return step(p*(1-lr*wd), g) }},
		{"beta1 zero", Config{Beta1: 0, Beta2: 0.5, Eps: eps}, step},
	}
	for _, tt := range tests {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			opt, err := NewAdam(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := newParam(t, "w", dt, p0, 3)
			if err := opt.Step([]*nn.Param{p}, []*tensor.Dense{newDense(dt, g, 3)}, lr); err != nil {
				t.Fatal(err)
			}
			tol := 1e-15
			if dt == tensor.Float32 {
				tol = 1e-6
			}
			for i, got := range p.Float64s() {
				if want := tt.want(p0[i], g[i]); math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
					t.Errorf("%s %v: θ₁[%d] = %v, want %v", tt.name, dt, i, got, want)
				}
			}
		}
	}
}

func TestStepErrors(t *testing.T) {
	f64 := tensor.Float64
	w := func() *nn.Param { return newParam(t, "w", f64, []float64{1, 2, 3, 4, 5, 6}, 2, 3) }
	b := func() *nn.Param { return newParam(t, "b", f64, []float64{1, 2}, 2) }
	g := func(shape ...int) *tensor.Dense { return newDense(f64, []float64{1, 1, 1, 1, 1, 1}, shape...) }
	transposed := g(3, 2)
	if err := transposed.T(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		params  []*nn.Param
		grads   []*tensor.Dense
		lr      float64
		wantErr string
	}{
		{"more params than grads", []*nn.Param{w(), b()}, []*tensor.Dense{g(2, 3)}, 0.1, "2 parameters but 1 gradients"},
		{"nil param", []*nn.Param{nil}, []*tensor.Dense{g(2, 3)}, 0.1, "parameter 0 is nil"},
		{"nil grad", []*nn.Param{w()}, []*tensor.Dense{nil}, 0.1, `"w": nil gradient`},
		{"dtype", []*nn.Param{w()}, []*tensor.Dense{newDense(tensor.Float32, make([]float64, 6), 2, 3)}, 0.1, "gradient dtype float32, want float64"},
		{"shape", []*nn.Param{w()}, []*tensor.Dense{g(3, 2)}, 0.1, "gradient shape (3, 2), want (2, 3)"},
		{"rank", []*nn.Param{w()}, []*tensor.Dense{g(6)}, 0.1, "gradient shape"},
		{"transposed view", []*nn.Param{w()}, []*tensor.Dense{transposed}, 0.1, "not a contiguous tensor"},
		{"negative lr", []*nn.Param{w()}, []*tensor.Dense{g(2, 3)}, -0.1, "learning rate"},
		{"NaN lr", []*nn.Param{w()}, []*tensor.Dense{g(2, 3)}, math.NaN(), "learning rate"},
		{"duplicate name", []*nn.Param{w(), w()}, []*tensor.Dense{g(2, 3), g(2, 3)}, 0.1, `duplicate parameter name "w"`},
	}
	for _, tt := range tests {
		opt, err := NewAdam(DefaultAdam())
		if err != nil {
			t.Fatal(err)
		}
		var before [][]float64
		for _, p := range tt.params {
			if p != nil {
				before = append(before, p.Float64s())
			}
		}
		err = opt.Step(tt.params, tt.grads, tt.lr)
		if !errorMatches(err, tt.wantErr) {
			t.Errorf("%s: Step() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
		i := 0
		for _, p := range tt.params {
			if p == nil {
				continue
			}
			if got := p.Float64s(); !equalFloats(got, before[i]) {
				t.Errorf("%s: failed Step changed %s from %v to %v", tt.name, p.Name(), before[i], got)
			}
			i++
		}
		if s := opt.State(); s.Step != 0 || len(s.M) != 0 {
			t.Errorf("%s: failed Step left state at step %d with %d moments", tt.name, s.Step, len(s.M))
		}
	}
}

// TestStepStateMismatch: a parameter whose name has state of another shape
// or dtype (the model changed under the optimizer) is an error.
func TestStepStateMismatch(t *testing.T) {
	tests := []struct {
		name    string
		dt      tensor.Dtype
		shape   []int
		wantErr string
	}{
		{"shape", tensor.Float64, []int{3}, "does not match its optimizer state"},
		{"dtype", tensor.Float32, []int{2}, "does not match its optimizer state"},
		{"same", tensor.Float64, []int{2}, ""},
	}
	for _, tt := range tests {
		opt, err := NewAdam(DefaultAdam())
		if err != nil {
			t.Fatal(err)
		}
		p := newParam(t, "w", tensor.Float64, nil, 2)
		if err := opt.Step([]*nn.Param{p}, []*tensor.Dense{newDense(tensor.Float64, []float64{1, 1}, 2)}, 0.1); err != nil {
			t.Fatal(err)
		}
		q := newParam(t, "w", tt.dt, nil, tt.shape...)
		err = opt.Step([]*nn.Param{q}, []*tensor.Dense{newDense(tt.dt, make([]float64, q.Size()), tt.shape...)}, 0.1)
		if !errorMatches(err, tt.wantErr) {
			t.Errorf("%s: Step() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// TestFloat32 runs the same problem in float32 and float64: the state takes
// the parameter's dtype and the trajectories stay close.
func TestFloat32(t *testing.T) {
	init := []float64{0.5, -1, 2, -0.25, 0.125, 3}
	p64 := newParam(t, "w", tensor.Float64, init, 2, 3)
	p32 := newParam(t, "w", tensor.Float32, init, 2, 3)
	o64, err := NewAdam(DefaultAdamW())
	if err != nil {
		t.Fatal(err)
	}
	o32, err := NewAdam(DefaultAdamW())
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 100; step++ {
		// Gradient of ½‖w − 1‖²: w − 1.
		g := p32.Float64s()
		for i := range g {
			g[i]--
		}
		if err := o32.Step([]*nn.Param{p32}, []*tensor.Dense{newDense(tensor.Float32, g, 2, 3)}, 0.05); err != nil {
			t.Fatal(err)
		}
		g = p64.Float64s()
		for i := range g {
			g[i]--
		}
		if err := o64.Step([]*nn.Param{p64}, []*tensor.Dense{newDense(tensor.Float64, g, 2, 3)}, 0.05); err != nil {
			t.Fatal(err)
		}
	}
	if dt := o32.State().M["w"].Dtype(); dt != tensor.Float32 {
		t.Errorf("float32 parameter has %v state", dt)
	}
	want := p64.Float64s()
	for i, got := range p32.Float64s() {
		if math.Abs(got-want[i]) > 1e-4 {
			t.Errorf("w[%d]: float32 %v, float64 %v", i, got, want[i])
		}
		if math.Abs(got-1) > 0.1 {
			t.Errorf("w[%d] = %v after 100 steps, want near 1", i, got)
		}
	}
}

// TestStepDoesNotAllocate holds Step to its promise: no allocation once the
// state exists.
func TestStepDoesNotAllocate(t *testing.T) {
	params, grads := randomProblem(t, 1)
	gs := grads()
	opt, err := NewAdam(DefaultAdamW())
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(params, gs, 1e-3); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		ClipGradNorm(gs, 1)
		if err := opt.Step(params, gs, 1e-3); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ClipGradNorm + Step allocate %v times per step, want 0", allocs)
	}
}

func TestPowInt(t *testing.T) {
	tests := []struct {
		x    float64
		n    int64
		want float64
	}{
		{0.9, 0, 1},
		{0.9, 1, 0.9},
		{0.9, 2, 0.81},
		{0.999, 3, 0.997002999},
		{0, 5, 0},
		{0.5, 1074, math.SmallestNonzeroFloat64},
		{0.999, 1 << 40, 0},
		// Values from Python's 0.999**n and 0.9**n (glibc pow), where
		// math.Pow is an ulp or more away.
		{0.999, 1000, 0.36769542477096373},
		{0.999, 12345, 4.324661796025634e-06},
		{0.9, 50, 0.00515377520732012},
	}
	for _, tt := range tests {
		if got := powInt(tt.x, tt.n); got != tt.want {
			t.Errorf("powInt(%v, %d) = %v, want %v", tt.x, tt.n, got, tt.want)
		}
	}
}

func BenchmarkAdamStep(b *testing.B) {
	// A small encoder's worth of float32 parameters: ~0.4M elements.
	var params []*nn.Param
	var grads []*tensor.Dense
	for i, shape := range [][]int{{1000, 128}, {128, 512}, {512}, {512, 128}, {128}, {128, 128}} {
		p := newParam(b, "p"+string(rune('a'+i)), tensor.Float32, nil, shape...)
		vals := make([]float64, p.Size())
		for j := range vals {
			vals[j] = float64(j%7) * 0.01
		}
		params = append(params, p)
		grads = append(grads, newDense(tensor.Float32, vals, shape...))
	}
	opt, err := NewAdam(DefaultAdamW())
	if err != nil {
		b.Fatal(err)
	}
	if err := opt.Step(params, grads, 1e-3); err != nil { // creates the state
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := opt.Step(params, grads, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
}
