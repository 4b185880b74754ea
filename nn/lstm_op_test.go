package nn

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lstmMasks are [3, 5] masks: right padding of different lengths, a fully
// padded row, and holes and left padding, which a padded step must carry
// the state across wherever it is.
var lstmMasks = map[string][]float64{
	"RightPadded": {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0},
	"FullyPadded": {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0},
	"Holes":       {0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0},
}

// TestLSTMOpGradients checks the gradient of Σ r⊙y with respect to the
// input and all four weights, in both directions, for every mask.
func TestLSTMOpGradients(t *testing.T) {
	const b, n, in, h = 3, 5, 3, 4
	for name, mask := range lstmMasks {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reverse=%v", name, reverse), func(t *testing.T) {
				rng := newRand(31)
				x := randParam(t, rng, "x", b, n, in)
				wih := randParam(t, rng, "wih", 4*h, in)
				whh := randParam(t, rng, "whh", 4*h, h)
				bih := randParam(t, rng, "bih", 4*h)
				bhh := randParam(t, rng, "bhh", 4*h)
				checkGrad(t, func(g *Graph) (*G.Node, error) {
					keep := setInput(t, g, "keep", mask, b, n)
					return chain(g, func(p ...*G.Node) (*G.Node, error) {
						return LSTM(p[0], p[1], p[2], p[3], p[4], keep, reverse)
					}, x, wih, whh, bih, bhh)
				})
			})
		}
	}
}

// lstmReference is the recurrence written out plainly for one row in
// float64: xs [T][I] → ys [T][H], skipping padded steps.
func lstmReference(xs [][]float64, keep []float64, wih, whh, bih, bhh []float64, h int, reverse bool) [][]float64 {
	in := len(xs[0])
	hs, cs := make([]float64, h), make([]float64, h)
	ys := make([][]float64, len(xs))
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for s := range xs {
		t := s
		if reverse {
			t = len(xs) - 1 - s
		}
		ys[t] = make([]float64, h)
		if keep[t] == 0 {
			continue
		}
		a := make([]float64, 4*h)
		for r := range a {
			a[r] = bih[r] + bhh[r]
			for j := 0; j < in; j++ {
				a[r] += wih[r*in+j] * xs[t][j]
			}
			for j := 0; j < h; j++ {
				a[r] += whh[r*h+j] * hs[j]
			}
		}
		for j := 0; j < h; j++ {
			i, f, g, o := sig(a[j]), sig(a[h+j]), math.Tanh(a[2*h+j]), sig(a[3*h+j])
			cs[j] = f*cs[j] + i*g
			hs[j] = o * math.Tanh(cs[j])
		}
		copy(ys[t], hs)
	}
	return ys
}

// TestLSTMOpForward compares the op with the plain recurrence in float64
// and float32, for every mask and both directions.
func TestLSTMOpForward(t *testing.T) {
	const b, n, in, h = 3, 5, 3, 4
	for name, mask := range lstmMasks {
		for _, reverse := range []bool{false, true} {
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				t.Run(fmt.Sprintf("%s/reverse=%v/%v", name, reverse, dt), func(t *testing.T) {
					rng := newRand(32)
					vals := func(k int) []float64 {
						v := make([]float64, k)
						for i := range v {
							v[i] = rng.NormFloat64()
						}
						return v
					}
					xv, wih, whh, bih, bhh := vals(b*n*in), vals(4*h*in), vals(4*h*h), vals(4*h), vals(4*h)
					g, _ := NewGraph(dt, false)
					nodes := make([]*G.Node, 5)
					for i, v := range []struct {
						name  string
						vals  []float64
						shape []int
					}{{"x", xv, []int{b, n, in}}, {"wih", wih, []int{4 * h, in}}, {"whh", whh, []int{4 * h, h}}, {"bih", bih, []int{4 * h}}, {"bhh", bhh, []int{4 * h}}} {
						nodes[i] = setInput(t, g, v.name, v.vals, v.shape...)
					}
					keep := setInput(t, g, "keep", mask, b, n)
					y, err := LSTM(nodes[0], nodes[1], nodes[2], nodes[3], nodes[4], keep, reverse)
					if err != nil {
						t.Fatal(err)
					}
					prog := runOnce(t, g, nil, false, y)
					got := ToFloat64s(prog.Output(0))
					tol := 1e-14
					if dt == tensor.Float32 {
						tol = 1e-6
					}
					var worst float64
					for r := 0; r < b; r++ {
						xs := make([][]float64, n)
						for s := range xs {
							xs[s] = xv[(r*n+s)*in:][:in]
						}
						want := lstmReference(xs, mask[r*n:][:n], wih, whh, bih, bhh, h, reverse)
						for s := 0; s < n; s++ {
							for j := 0; j < h; j++ {
								d := math.Abs(got[(r*n+s)*h+j] - want[s][j])
								if !(d <= tol) {
									t.Errorf("y[%d,%d,%d] = %v, want %v", r, s, j, got[(r*n+s)*h+j], want[s][j])
								}
								worst = math.Max(worst, d)
							}
						}
					}
					t.Logf("max |op − reference| = %.3g", worst)
				})
			}
		}
	}
}

func TestLSTMOpRejectsShapes(t *testing.T) {
	g, _ := NewGraph(tensor.Float64, false)
	in := func(name string, shape ...int) *G.Node {
		n, _, err := g.Input(name, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	x, keep := in("x", 2, 3, 5), in("keep", 2, 3)
	wih, whh, bias := in("wih", 16, 5), in("whh", 16, 4), in("b", 16)
	for _, tc := range []struct {
		name                       string
		x, wih, whh, bih, bhh, msk *G.Node
	}{
		{"mask", x, wih, whh, bias, bias, in("keep2", 2, 4)},
		{"input weight", x, in("wih2", 16, 4), whh, bias, bias, keep},
		{"recurrent weight", x, wih, in("whh2", 12, 4), bias, bias, keep},
		{"bias", x, wih, whh, bias, in("b2", 12), keep},
		{"input rank", in("x2", 6, 5), wih, whh, bias, bias, keep},
	} {
		if _, err := LSTM(tc.x, tc.wih, tc.whh, tc.bih, tc.bhh, tc.msk, false); err == nil {
			t.Errorf("%s: no error for mismatched shapes", tc.name)
		}
	}
}
