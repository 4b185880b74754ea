package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// WeightedSum returns Σ r⊙y for a fixed random r drawn from rng: a scalar
// loss whose gradient with respect to y is r. A gradient check needs such a
// loss, because through softmax or layer norm the gradient of a plain Σy is
// zero whatever the layer computes, and the check would prove nothing.
func WeightedSum(g *Graph, name string, y *G.Node, rng *rand.Rand) (*G.Node, error) {
	if y.Shape().IsScalar() {
		return nil, fmt.Errorf("nn: weighted sum %q: input is a scalar", name)
	}
	r := tensor.New(tensor.Of(g.dt), tensor.WithShape(y.Shape()...))
	vals := make([]float64, y.Shape().TotalSize())
	for i := range vals {
		vals[i] = rng.NormFloat64()
	}
	FromFloat64s(r, vals)
	rn, err := g.Constant("weights."+name, r)
	if err != nil {
		return nil, err
	}
	prod, err := G.HadamardProd(y, rn)
	if err != nil {
		return nil, fmt.Errorf("nn: weighted sum: %w", err)
	}
	return G.Sum(prod)
}

// GradCheckResult is the worst disagreement found by GradCheck.
type GradCheckResult struct {
	Param    string  // parameter name
	Index    int     // flat element index
	Analytic float64 // from backpropagation
	Numeric  float64 // from central differences
	RelErr   float64 // |a − n| / max(|a|, |n|, floor)
	Checked  int     // elements compared
}

// String says where the worst disagreement is and how large it is, for a
// test's failure message.
func (r GradCheckResult) String() string {
	return fmt.Sprintf("%s[%d]: analytic %.12g, numeric %.12g, relative error %.3g (%d elements)",
		r.Param, r.Index, r.Analytic, r.Numeric, r.RelErr, r.Checked)
}

// GradCheck compares the gradient of a scalar loss, computed by Gorgonia's
// backpropagation through the graph that build makes, with central finite
// differences for every element of every parameter the
// graph binds. Inputs to be checked are made parameters by the caller. The
// graph must be float64. prepare, if not nil, runs once after building (to
// sample dropout masks, say); the masks then stay fixed for every run.
//
// The difference is the five-point stencil
//
//	(8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h
//
// whose truncation error is O(h⁴), so a step near 1e-3 keeps both truncation
// and rounding near 1e-12 in float64. A kink (ReLU at zero) near the point
// is detected and stepped around; see derivative.
//
// The relative error of each element is |a − n| / max(|a|, |n|, floor), so
// gradients that are exactly zero are compared absolutely against floor.
func GradCheck(build func(g *Graph) (*G.Node, error), prepare func(g *Graph), h, floor float64) (GradCheckResult, error) {
	var worst GradCheckResult
	g, err := NewGraph(tensor.Float64, true)
	if err != nil {
		return worst, err
	}
	loss, err := build(g)
	if err != nil {
		return worst, err
	}
	prog, err := Compile(g, loss, true)
	if err != nil {
		return worst, err
	}
	defer prog.Close()
	if prepare != nil {
		prepare(g)
	}
	if err := prog.Run(); err != nil {
		return worst, err
	}
	analytic := make([][]float64, len(g.params))
	for i, gr := range prog.Grads() {
		analytic[i] = ToFloat64s(gr)
	}
	eval := func() (float64, error) {
		if err := prog.Run(); err != nil {
			return 0, err
		}
		return prog.Loss(), nil
	}
	worst.RelErr = -1
	for pi, p := range g.params {
		x := p.value.Data().([]float64)
		for i := range x {
			num, err := derivative(x, i, h, floor, eval)
			if err != nil {
				return worst, err
			}
			a := analytic[pi][i]
			rel := math.Abs(a-num) / math.Max(math.Max(math.Abs(a), math.Abs(num)), floor)
			worst.Checked++
			if rel > worst.RelErr || math.IsNaN(rel) {
				worst = GradCheckResult{Param: p.name, Index: i, Analytic: a, Numeric: num, RelErr: rel, Checked: worst.Checked}
			}
		}
	}
	if worst.Checked == 0 {
		return worst, fmt.Errorf("nn: gradient check: the graph binds no parameter")
	}
	return worst, nil
}

// derivative estimates ∂f/∂x[i] with the five-point stencil at steps h and
// h/2. Away from kinks the two agree to O(h⁴); where they disagree (a ReLU
// kink within 2h) the step shrinks tenfold, at most three times, and the
// best-agreeing pair wins.
//
// Round-off is not a kink: each f carries an error of a few ulps of |f|
// (roundOff), which a stencil divides by h, so two stencils whose
// difference is within that much agree. Without this allowance a gradient
// that is exactly zero (an attention key's bias) shrank the step to where
// round-off alone made the estimate, ~1e-9 instead of ~1e-12.
func derivative(x []float64, i int, h, floor float64, f func() (float64, error)) (float64, error) {
	orig := x[i]
	defer func() { x[i] = orig }()
	fmax := 0.0 // the largest |f| seen, the scale of its round-off
	stencil := func(h float64) (float64, error) {
		var v [4]float64 // f(x+h), f(x−h), f(x+2h), f(x−2h)
		for k, step := range [4]float64{h, -h, 2 * h, -2 * h} {
			x[i] = orig + step
			var err error
			if v[k], err = f(); err != nil {
				return 0, err
			}
			fmax = math.Max(fmax, math.Abs(v[k]))
		}
		return (8*(v[0]-v[1]) - (v[2] - v[3])) / (12 * h), nil
	}
	best, bestGap := 0.0, math.Inf(1)
	for try := 0; try < 4; try, h = try+1, h/10 {
		e1, err := stencil(h)
		if err != nil {
			return 0, err
		}
		e2, err := stencil(h / 2)
		if err != nil {
			return 0, err
		}
		// A stencil's round-off is at most (8·2δ + 2δ)/12h = 1.5δ/h for
		// an error δ in each f; the h/2 stencil's twice that.
		noise := 4.5 * roundOff * fmax / h
		gap := math.Max(math.Abs(e1-e2)-noise, 0) / math.Max(math.Max(math.Abs(e1), math.Abs(e2)), floor)
		if gap < bestGap {
			best, bestGap = e2, gap
		}
		if gap <= 1e-8 {
			break
		}
	}
	return best, nil
}

// roundOff bounds the relative error of one evaluation of a loss, in
// units of float64's epsilon: sixteen ulps.
const roundOff = 16 * 0x1p-52
