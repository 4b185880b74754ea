package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// An Initializer fills a parameter's value, drawing from rng if it needs
// randomness.
type Initializer func(p *Param, rng *rand.Rand) error

// fill writes f() into every element of p; a ShapesOnly parameter has
// none.
func fill(p *Param, f func() float64) {
	if p.value == nil {
		return
	}
	v := make([]float64, p.Size())
	for i := range v {
		v[i] = f()
	}
	FromFloat64s(p.value, v)
}

// Zeros sets every element to 0.
func Zeros(p *Param, _ *rand.Rand) error { fill(p, func() float64 { return 0 }); return nil }

// Ones sets every element to 1.
func Ones(p *Param, _ *rand.Rand) error { fill(p, func() float64 { return 1 }); return nil }

// Normal returns an initializer drawing from N(0, std²).
func Normal(std float64) Initializer {
	return func(p *Param, rng *rand.Rand) error {
		if rng == nil {
			return fmt.Errorf("nn: init %q: nil generator", p.name)
		}
		fill(p, func() float64 { return rng.NormFloat64() * std })
		return nil
	}
}

// Uniform returns an initializer drawing from U(−a, a).
func Uniform(a float64) Initializer {
	return func(p *Param, rng *rand.Rand) error {
		if rng == nil {
			return fmt.Errorf("nn: init %q: nil generator", p.name)
		}
		fill(p, func() float64 { return (2*rng.Float64() - 1) * a })
		return nil
	}
}

// XavierUniform draws from U(−a, a) with a = √(6 / (fan_in + fan_out))
// (Glorot & Bengio, 2010). For a [out, in] weight fan_in = in and
// fan_out = out, as in torch.nn.init.xavier_uniform_.
func XavierUniform(p *Param, rng *rand.Rand) error {
	s := p.Shape()
	if len(s) < 2 {
		return fmt.Errorf("nn: init %q: Xavier needs at least 2 dimensions, got %v", p.name, s)
	}
	field := s.TotalSize() / (s[0] * s[1])
	fanIn, fanOut := s[1]*field, s[0]*field
	return Uniform(math.Sqrt(6/float64(fanIn+fanOut)))(p, rng)
}
