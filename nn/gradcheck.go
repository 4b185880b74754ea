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

func (r GradCheckResult) String() string {
	return fmt.Sprintf("%s[%d]: analytic %.12g, numeric %.12g, relative error %.3g (%d elements)",
		r.Param, r.Index, r.Analytic, r.Numeric, r.RelErr, r.Checked)
}

// GradCheck compares the gradient of a scalar loss, computed by Gorgonia's
// backpropagation through the graph that build makes, with central finite
// differences (f(x+h) − f(x−h)) / 2h for every element of every parameter the
// graph binds. Inputs to be checked are made parameters by the caller. The
// graph must be float64. prepare, if not nil, runs once after building (to
// sample dropout masks, say); the masks then stay fixed for every run.
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
			orig := x[i]
			x[i] = orig + h
			fp, err := eval()
			if err != nil {
				return worst, err
			}
			x[i] = orig - h
			fm, err := eval()
			x[i] = orig
			if err != nil {
				return worst, err
			}
			num := (fp - fm) / (2 * h)
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
