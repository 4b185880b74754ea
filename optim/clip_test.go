package optim

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

func TestClipGradNorm(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	f64, f32 := tensor.Float64, tensor.Float32
	tests := []struct {
		name     string
		dt       tensor.Dtype
		grads    [][]float64 // nil: a nil gradient
		maxNorm  float64
		wantNorm float64
		scale    float64 // expected factor on every gradient
	}{
		{"measure only", f64, [][]float64{{3, 4}, {12}}, 0, 13, 1},
		{"negative max measures", f64, [][]float64{{3, 4}, {12}}, -1, 13, 1},
		{"below max", f64, [][]float64{{3, 4}, {12}}, 100, 13, 1},
		{"infinite max", f64, [][]float64{{3, 4}, {12}}, inf, 13, 1},
		{"NaN max", f64, [][]float64{{3, 4}, {12}}, nan, 13, 1},
		// PyTorch clips even at max == norm, by 13/(13 + 1e-6).
		{"at max", f64, [][]float64{{3, 4}, {12}}, 13, 13, 13 / (13 + 1e-6)},
		{"just above 1e-6 band", f64, [][]float64{{3, 4}, {12}}, 13 + 2e-6, 13, 1},
		{"above max", f64, [][]float64{{3, 4}, {12}}, 6.5, 13, 6.5 / (13 + 1e-6)},
		{"float32", f32, [][]float64{{3, 4}, {12}}, 1, 13, 1 / (13 + 1e-6)},
		{"nil skipped", f64, [][]float64{{3, 4}, nil, {0, 0, 12}}, 1, 13, 1 / (13 + 1e-6)},
		{"empty", f64, nil, 1, 0, 1},
		{"zeros", f64, [][]float64{{0, 0}}, 1, 0, 1},
		{"NaN not applied", f64, [][]float64{{3, nan}, {12}}, 1, nan, 1},
		{"Inf not applied", f64, [][]float64{{3, inf}, {12}}, 1, inf, 1},
		{"overflowing squares", f64, [][]float64{{1e200}}, 1, inf, 1},
	}
	for _, tt := range tests {
		grads := make([]*tensor.Dense, len(tt.grads))
		for i, g := range tt.grads {
			if g != nil {
				grads[i] = newDense(tt.dt, g, len(g))
			}
		}
		norm := ClipGradNorm(grads, tt.maxNorm)
		if !(norm == tt.wantNorm || math.IsNaN(norm) && math.IsNaN(tt.wantNorm)) {
			t.Errorf("%s: ClipGradNorm() = %v, want %v", tt.name, norm, tt.wantNorm)
		}
		tol := 1e-15
		if tt.dt == f32 {
			tol = 1e-7
		}
		for i, g := range tt.grads {
			if g == nil {
				continue
			}
			got := nn.ToFloat64s(grads[i])
			for j := range g {
				want := g[j] * tt.scale
				if tt.scale == 1 {
					want = g[j]
				}
				if !(math.Abs(got[j]-want) <= tol*math.Abs(want) || math.IsNaN(got[j]) && math.IsNaN(want) || got[j] == want) {
					t.Errorf("%s: grad[%d][%d] = %v, want %v", tt.name, i, j, got[j], want)
				}
			}
		}
	}
}

// TestClipGradNormResult: after clipping, the norm is maxNorm up to
// PyTorch's 1e-6.
func TestClipGradNormResult(t *testing.T) {
	_, grads := randomProblem(t, 11)
	gs := grads()
	before := ClipGradNorm(gs, 0)
	if got := ClipGradNorm(gs, before/10); got != before {
		t.Fatalf("ClipGradNorm reported %v, measured %v", got, before)
	}
	if after := ClipGradNorm(gs, 0); math.Abs(after-before/10) > 1e-6 {
		t.Errorf("norm after clipping to %v = %v", before/10, after)
	}
}
