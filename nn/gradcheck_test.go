package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// recordedRoundOff is a loss that is flat in x[0] but for its round-off:
// 10 plus the units in the last place that a GOAMD64=v3 build added to the
// loss of layers' EncoderLayerPreNormreluDropout when attn.k.bias[6] (whose
// gradient is exactly zero: a key bias shifts a query's scores by one
// constant, which softmax removes) moved by the stencils' offsets from its
// value. The offsets are keyed in units of 1e-7.
func recordedRoundOff(x []float64) func() (float64, error) {
	const x0 = 0.5
	ulps := map[int]float64{
		10000: -1, 20000: -1, 5000: 1, // h = 1e-3 and 5e-4
		500: -1, -500: 1, // h = 1e-4 and 5e-5
		100: 1, 200: 1, -200: -1, 50: 2, -50: -1, // h = 1e-5 and 5e-6
		10: 1, -10: -1, 20: 2, -20: -2, 5: 1, // h = 1e-6 and 5e-7
	}
	ulp := math.Nextafter(10, 11) - 10
	x[0] = x0
	return func() (float64, error) {
		return 10 + ulp*ulps[int(math.Round((x[0]-x0)*1e7))], nil
	}
}

// TestDerivativeZeroGradient: where the true derivative is zero the
// stencils at h and h/2 differ only by round-off, which must not be taken
// for a kink: a smaller step divides the same round-off by a smaller h.
// Before round-off was allowed for, the step fell to 1e-6, where the two
// stencils happened to agree, and the estimate was 1.8e-9 — a relative
// error of 1.8e-5 against the floor, failing the layer's check under
// GOAMD64=v3 (the values of recordedRoundOff).
func TestDerivativeZeroGradient(t *testing.T) {
	x := []float64{0}
	f := recordedRoundOff(x)
	d, err := derivative(x, 0, fdStep, fdFloor, f)
	if err != nil {
		t.Fatal(err)
	}
	if rel := math.Abs(d) / fdFloor; rel > fdTol {
		t.Errorf("numeric derivative %g of a flat loss: %g relative to the floor, want ≤ %g", d, rel, fdTol)
	}
	if x[0] != 0.5 {
		t.Errorf("derivative left x at %g, want 0.5", x[0])
	}
}

// TestDerivativeKink: a kink within the step is still stepped around, so
// allowing for round-off did not blunt the kink detection: |x| at 1e-4 with
// h = 1e-3 straddles the kink, and only a smaller step gives the slope 1.
func TestDerivativeKink(t *testing.T) {
	x := []float64{1e-4}
	d, err := derivative(x, 0, fdStep, fdFloor, func() (float64, error) { return 3 * math.Abs(x[0]), nil })
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d-3) > 1e-9 {
		t.Errorf("derivative of 3|x| at 1e-4 = %.12g, want 3", d)
	}
}

// TestGradCheckCatchesWrongGradient: an op whose backward is off by one
// part in 1e5 fails the check at the tolerance the tests use, and the same
// op with the right backward passes; the checker is no looser for being
// robust to zero gradients.
func TestGradCheckCatchesWrongGradient(t *testing.T) {
	for _, scale := range []float64{1, 1 + 1e-5} {
		build := func(g *Graph) (*G.Node, error) {
			rng := newRand(3)
			x := randParam(t, rng, "x", 3, 4)
			xn, err := g.Param(x)
			if err != nil {
				return nil, err
			}
			y, err := scaledGradSquare(xn, scale)
			if err != nil {
				return nil, err
			}
			return WeightedSum(g, "y", y, rng)
		}
		res, err := GradCheck(build, nil, fdStep, fdFloor)
		if err != nil {
			t.Fatal(err)
		}
		if wrong := scale != 1; (res.RelErr > fdTol) != wrong {
			t.Errorf("backward scaled by %v: worst %v; want a failure: %v", scale, res, wrong)
		}
	}
}

// scaledGradSquare is x² with its gradient 2x·gy multiplied by scale.
func scaledGradSquare(x *G.Node, scale float64) (*G.Node, error) {
	return apply(&customOp{
		name:    "Square",
		inDims:  dimsOf(x),
		outDims: x.Dims(),
		shape:   sameShape,
		k: kernelOf(func(y []float32, in [][]float32, _ []tensor.Shape) error { return nil },
			func(y []float64, in [][]float64, _ []tensor.Shape) error {
				for i, v := range in[0] {
					y[i] = v * v
				}
				return nil
			}),
		wrt: []bool{true},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    "SquareGrad",
				inDims:  dimsOf(in[0], gy),
				outDims: in[0].Dims(),
				shape:   sameShape,
				k: kernelOf(func(y []float32, in [][]float32, _ []tensor.Shape) error { return nil },
					func(gx []float64, in [][]float64, _ []tensor.Shape) error {
						for i, v := range in[0] {
							gx[i] = 2 * v * in[1][i] * scale
						}
						return nil
					}),
			}, in[0], gy)
			return G.Nodes{gx}, err
		},
	}, x)
}
