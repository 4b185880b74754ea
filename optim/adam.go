package optim

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// Adam is the Adam optimizer, or AdamW when its Config is Decoupled. Its
// state — the first and second moment estimates m and v of every parameter,
// in the parameter's dtype and shape, and the number of steps taken — is kept
// by parameter name, so State and SetState can checkpoint it exactly.
//
// One step count serves all parameters, as in Kingma & Ba's Algorithm 1.
// PyTorch counts per parameter instead; the two agree whenever every step
// updates the same parameters, which is how a model is trained. A parameter
// that first appears after other parameters have taken steps starts from
// zero moments but with the shared count's bias correction.
//
// An Adam is not safe for concurrent use.
type Adam struct {
	cfg   Config
	t     int64
	m     map[string]*tensor.Dense
	v     map[string]*tensor.Dense
	names []string // the parameter names of the last step, already checked for duplicates
}

// NewAdam returns an optimizer with no state yet; the first Step creates it.
func NewAdam(cfg Config) (*Adam, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adam{cfg: cfg, m: make(map[string]*tensor.Dense), v: make(map[string]*tensor.Dense)}, nil
}

// Config returns the hyperparameters the optimizer was made with.
func (a *Adam) Config() Config { return a.cfg }

// Steps returns the number of steps taken, t in Kingma & Ba's notation.
func (a *Adam) Steps() int64 { return a.t }

// Step applies one update with learning rate lr to every parameter, reading
// grads[i] as the gradient of params[i]:
//
//	g ← g + λ·θ                       (Adam with weight decay λ)
//	θ ← θ·(1 − lr·λ)                  (AdamW)
//	m ← β₁·m + (1 − β₁)·g
//	v ← β₂·v + (1 − β₂)·g²
//	θ ← θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
//
// in the parameters' own dtype and in PyTorch's order of operations. Each
// gradient must have its parameter's dtype and exact shape and be contiguous;
// grads are only read. Step checks everything before it changes anything, so
// an error leaves the parameters and the state as they were. State for a
// parameter name not seen before is created here; after that a step does not
// allocate as long as it is given the same parameters.
//
// Step does not look for non-finite gradients: check the norm ClipGradNorm
// returns first, since a NaN would enter m and v and stay there.
func (a *Adam) Step(params []*nn.Param, grads []*tensor.Dense, lr float64) error {
	if err := a.check(params, grads, lr); err != nil {
		return err
	}
	for _, p := range params {
		if a.m[p.Name()] == nil {
			a.m[p.Name()] = tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(p.Shape().Clone()...))
			a.v[p.Name()] = tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(p.Shape().Clone()...))
		}
	}
	a.t++
	c := a.coefficients(lr)
	for i, p := range params {
		m, v := a.m[p.Name()], a.v[p.Name()]
		if p.Dtype() == tensor.Float64 {
			update(p.Value().Float64s(), grads[i].Float64s(), m.Float64s(), v.Float64s(), &c)
		} else {
			update(p.Value().Float32s(), grads[i].Float32s(), m.Float32s(), v.Float32s(), &c)
		}
	}
	return nil
}

// coefficients are the scalars of one step, computed in float64 as PyTorch
// computes them in Python before handing them to its kernels.
type coefficients struct {
	beta1, oneMinusBeta1 float64
	beta2, oneMinusBeta2 float64
	weightDecay          float64 // added to the gradient (Adam); 0 for AdamW
	decay                float64 // multiplies the weights (AdamW); 1 for Adam
	negStepSize          float64 // −lr/(1 − β₁ᵗ)
	bc2Sqrt              float64 // √(1 − β₂ᵗ)
	eps                  float64
}

func (a *Adam) coefficients(lr float64) coefficients {
	c := coefficients{
		beta1: a.cfg.Beta1, oneMinusBeta1: 1 - a.cfg.Beta1,
		beta2: a.cfg.Beta2, oneMinusBeta2: 1 - a.cfg.Beta2,
		decay: 1,
		eps:   a.cfg.Eps,
	}
	// The float64 conversion forbids the compiler to fuse a multiply and an
	// add that PyTorch rounds separately.
	if a.cfg.Decoupled {
		c.decay = 1 - float64(lr*a.cfg.WeightDecay)
	} else {
		c.weightDecay = a.cfg.WeightDecay
	}
	bc1 := 1 - powInt(a.cfg.Beta1, a.t)
	bc2 := 1 - powInt(a.cfg.Beta2, a.t)
	c.negStepSize = -(lr / bc1)
	c.bc2Sqrt = math.Sqrt(bc2)
	return c
}

// update is PyTorch 1.13's _single_tensor_adam for one tensor. Its CPU
// kernels fuse "a + alpha*b" (add_ with alpha) and "a + value*b*c" (addcmul_)
// into fused multiply-adds, and so does this; addcdiv_ computes
// a + (value*b)/c without fusing.
func update[T float](p, g, m, v []T, c *coefficients) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	b1, omb1 := T(c.beta1), T(c.oneMinusBeta1)
	b2, omb2 := T(c.beta2), T(c.oneMinusBeta2)
	wd, decay := T(c.weightDecay), T(c.decay)
	negStep, bc2Sqrt, eps := T(c.negStepSize), T(c.bc2Sqrt), T(c.eps)
	for i := range p {
		gi := g[i]
		if wd != 0 {
			gi = fma(p[i], wd, gi) // grad.add(param, alpha=wd)
		}
		if decay != 1 {
			p[i] *= decay // param.mul_(1 - lr*wd)
		}
		m[i] = fma(gi, omb1, m[i]*b1)    // exp_avg.mul_(b1).add_(grad, alpha=1-b1)
		v[i] = fma(omb2*gi, gi, v[i]*b2) // exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1-b2)
		denom := T(math.Sqrt(float64(v[i])))/bc2Sqrt + eps
		p[i] += (negStep * m[i]) / denom // param.addcdiv_(exp_avg, denom, value=-step_size)
	}
}

// fma returns x*y + z rounded once (for float32, rounded to float64 first).
func fma[T float](x, y, z T) T {
	return T(math.FMA(float64(x), float64(y), float64(z)))
}

// check validates a step's arguments without allocating unless the set of
// parameter names changed since the last step.
func (a *Adam) check(params []*nn.Param, grads []*tensor.Dense, lr float64) error {
	if !finiteNonNeg(lr) {
		return fmt.Errorf("optim: learning rate %v must be finite and >= 0", lr)
	}
	if len(params) != len(grads) {
		return fmt.Errorf("optim: %d parameters but %d gradients", len(params), len(grads))
	}
	for i, p := range params {
		if p == nil {
			return fmt.Errorf("optim: parameter %d is nil", i)
		}
		dt := p.Dtype()
		if dt != tensor.Float32 && dt != tensor.Float64 {
			return fmt.Errorf("optim: parameter %q: unsupported dtype %v (want float32 or float64)", p.Name(), dt)
		}
		if !dense(p.Value(), p.Size()) {
			return fmt.Errorf("optim: parameter %q: value is not a contiguous tensor", p.Name())
		}
		g := grads[i]
		if g == nil {
			return fmt.Errorf("optim: parameter %q: nil gradient", p.Name())
		}
		if g.Dtype() != dt {
			return fmt.Errorf("optim: parameter %q: gradient dtype %v, want %v", p.Name(), g.Dtype(), dt)
		}
		if !sameShape(g.Shape(), p.Shape()) {
			return fmt.Errorf("optim: parameter %q: gradient shape %v, want %v", p.Name(), g.Shape(), p.Shape())
		}
		if !dense(g, p.Size()) {
			return fmt.Errorf("optim: parameter %q: gradient is not a contiguous tensor", p.Name())
		}
		if m := a.m[p.Name()]; m != nil && (m.Dtype() != dt || !sameShape(m.Shape(), p.Shape())) {
			return fmt.Errorf("optim: parameter %q: %v %v does not match its optimizer state %v %v",
				p.Name(), dt, p.Shape(), m.Dtype(), m.Shape())
		}
	}
	return a.checkNames(params)
}

// checkNames rejects two parameters with one name, which would share m and v.
func (a *Adam) checkNames(params []*nn.Param) error {
	if len(a.names) == len(params) {
		same := true
		for i, p := range params {
			if a.names[i] != p.Name() {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	names, err := uniqueNames(params)
	if err != nil {
		return err
	}
	a.names = names
	return nil
}

func uniqueNames(params []*nn.Param) ([]string, error) {
	names := make([]string, len(params))
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if seen[p.Name()] {
			return nil, fmt.Errorf("optim: duplicate parameter name %q", p.Name())
		}
		seen[p.Name()] = true
		names[i] = p.Name()
	}
	return names, nil
}

// sameShape is exact equality; tensor.Shape.Eq also equates [n] with [1,n].
func sameShape(a, b tensor.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// dense reports whether t's elements are its backing slice, in order.
func dense(t *tensor.Dense, size int) bool {
	return !t.RequiresIterator() && t.DataSize() == size
}

// powInt returns x**n correctly rounded in all but astronomically rare cases,
// as C's pow does for the bias corrections 1 − βᵗ in PyTorch. math.Pow is off
// by an ulp or more for most large n (0.999**t differs for almost every t), which
// would cost the exact agreement with PyTorch. It squares in double-double
// arithmetic, whose relative error stays near 2⁻¹⁰⁰ for any int64 n.
func powInt(x float64, n int64) float64 {
	rh, rl := 1.0, 0.0
	bh, bl := x, 0.0
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			rh, rl = mulDD(rh, rl, bh, bl)
		}
		if n > 1 {
			bh, bl = mulDD(bh, bl, bh, bl)
		}
	}
	return rh
}

// mulDD multiplies two double-double numbers (Dekker 1971). The float64
// conversions forbid the compiler to fuse a product into the following sum
// (it does on arm64 and GOAMD64=v3), which would break the error terms.
func mulDD(ah, al, bh, bl float64) (hi, lo float64) {
	p := float64(ah * bh)
	e := math.FMA(ah, bh, -p)
	e += float64(ah*bl) + float64(al*bh)
	hi = p + e
	lo = e - (hi - p)
	return hi, lo
}
