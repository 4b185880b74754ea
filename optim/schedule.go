package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of each optimizer step. step is the
// 1-based number of the step about to be taken; steps below 1 count as 1.
type Schedule interface {
	LR(step int64) float64
	String() string
}

var (
	_ Schedule = Constant{}
	_ Schedule = WarmupCosine{}
	_ Schedule = InverseSqrt{}
)

// Constant is the same learning rate, Rate, at every step. (The field cannot
// be called LR: that is the method.)
type Constant struct{ Rate float64 }

// LR returns c.Rate.
func (c Constant) LR(int64) float64 { return c.Rate }

// String describes the schedule, e.g. "constant(lr=0.001)".
func (c Constant) String() string { return fmt.Sprintf("constant(lr=%g)", c.Rate) }

// Validate reports a rate that is not finite and positive.
func (c Constant) Validate() error {
	if !(c.Rate > 0 && !math.IsInf(c.Rate, 1)) {
		return fmt.Errorf("optim: constant schedule: lr %v must be finite and > 0", c.Rate)
	}
	return nil
}

// WarmupCosine rises linearly to Peak over the first Warmup steps, then
// follows half a cosine down to Min at step Total and stays at Min after:
//
//	lr(s) = Peak·s/Warmup                                  s ≤ Warmup
//	lr(s) = Min + (Peak − Min)·½(1 + cos(π·(s−Warmup)/(Total−Warmup)))   Warmup < s < Total
//	lr(s) = Min                                            s ≥ Total
//
// The first step's rate is Peak/Warmup, not 0, so that no step is wasted.
type WarmupCosine struct {
	Peak, Min     float64
	Warmup, Total int64
}

// LR returns the rate for the 1-based step.
func (w WarmupCosine) LR(step int64) float64 {
	step = max(step, 1)
	if step <= w.Warmup {
		return w.Peak * float64(step) / float64(w.Warmup)
	}
	if step >= w.Total {
		return w.Min
	}
	progress := float64(step-w.Warmup) / float64(w.Total-w.Warmup)
	half := 0.5 * (1 + math.Cos(math.Pi*progress))
	// The conversion keeps the compiler from fusing the multiply and add,
	// which would round differently from the PyTorch reference.
	return w.Min + float64((w.Peak-w.Min)*half)
}

// String describes the schedule with its parameters.
func (w WarmupCosine) String() string {
	return fmt.Sprintf("cosine(peak=%g, min=%g, warmup=%d, total=%d)", w.Peak, w.Min, w.Warmup, w.Total)
}

// Validate requires 0 ≤ Min ≤ Peak, Peak finite and positive, and
// 0 ≤ Warmup < Total.
func (w WarmupCosine) Validate() error {
	switch {
	case !(w.Peak > 0 && !math.IsInf(w.Peak, 1)):
		return fmt.Errorf("optim: cosine schedule: peak lr %v must be finite and > 0", w.Peak)
	case !(w.Min >= 0 && w.Min <= w.Peak):
		return fmt.Errorf("optim: cosine schedule: min lr %v must be in [0, peak %v]", w.Min, w.Peak)
	case w.Warmup < 0:
		return fmt.Errorf("optim: cosine schedule: warmup %d is negative", w.Warmup)
	case w.Total <= w.Warmup:
		return fmt.Errorf("optim: cosine schedule: total steps %d must exceed warmup %d", w.Total, w.Warmup)
	}
	return nil
}

// InverseSqrt is the schedule of Vaswani et al. (2017), equation (3):
//
//	lr(s) = Scale · DModel^−½ · min(s^−½, s·Warmup^−³ᐟ²)
//
// It rises linearly for Warmup steps, peaks at Scale·(DModel·Warmup)^−½ and
// then decays with the inverse square root of the step. The paper uses
// Scale 1, DModel 512, Warmup 4000.
type InverseSqrt struct {
	DModel int
	Warmup int64
	Scale  float64
}

// LR returns the rate for the 1-based step.
func (n InverseSqrt) LR(step int64) float64 {
	s := float64(max(step, 1))
	w := float64(n.Warmup)
	// Square roots rather than math.Pow: they are correctly rounded here and
	// in Python, so the reference fixtures match to the bit.
	return n.Scale / math.Sqrt(float64(n.DModel)) * math.Min(1/math.Sqrt(s), s/(w*math.Sqrt(w)))
}

// String describes the schedule with its parameters.
func (n InverseSqrt) String() string {
	return fmt.Sprintf("noam(d_model=%d, warmup=%d, scale=%g)", n.DModel, n.Warmup, n.Scale)
}

// Validate requires DModel ≥ 1, Warmup ≥ 1 and Scale finite and positive.
func (n InverseSqrt) Validate() error {
	switch {
	case n.DModel < 1:
		return fmt.Errorf("optim: noam schedule: d_model %d must be >= 1", n.DModel)
	case n.Warmup < 1:
		return fmt.Errorf("optim: noam schedule: warmup %d must be >= 1", n.Warmup)
	case !(n.Scale > 0 && !math.IsInf(n.Scale, 1)):
		return fmt.Errorf("optim: noam schedule: scale %v must be finite and > 0", n.Scale)
	}
	return nil
}

// NewSchedule returns the validated schedule of the given kind, with peak as
// its highest learning rate whatever the kind:
//
//   - "constant": Constant{Rate: peak}; the other arguments are ignored.
//   - "cosine": WarmupCosine{peak, min, warmup, total}; dModel is ignored.
//   - "noam": InverseSqrt{dModel, warmup, Scale} with Scale = peak·√(dModel·warmup),
//     so that the rate at step warmup is peak; min and total are ignored.
//     (The paper's Scale 1 with dModel 512 and warmup 4000 is peak ≈ 7.0e-4.)
//
// Negative min, warmup or total are errors for every kind.
func NewSchedule(kind string, peak, min float64, warmup, total int64, dModel int) (Schedule, error) {
	if min < 0 || warmup < 0 || total < 0 {
		return nil, fmt.Errorf("optim: %s schedule: negative min lr %v, warmup %d or total %d", kind, min, warmup, total)
	}
	var s interface {
		Schedule
		Validate() error
	}
	switch kind {
	case "constant":
		s = Constant{Rate: peak}
	case "cosine":
		s = WarmupCosine{Peak: peak, Min: min, Warmup: warmup, Total: total}
	case "noam":
		if !(peak > 0 && !math.IsInf(peak, 1)) {
			return nil, fmt.Errorf("optim: noam schedule: peak lr %v must be finite and > 0", peak)
		}
		s = InverseSqrt{DModel: dModel, Warmup: warmup, Scale: peak * math.Sqrt(float64(dModel)*float64(warmup))}
	default:
		return nil, fmt.Errorf("optim: unknown schedule %q (want constant, cosine or noam)", kind)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
