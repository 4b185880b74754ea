package optim

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// TestStateRoundTrip interrupts a run after k steps, restores weights and
// State into a fresh optimizer and checks that the following steps are
// bit-identical to those of the uninterrupted run.
func TestStateRoundTrip(t *testing.T) {
	cfgs := []struct {
		name string
		cfg  Config
	}{
		{"adam", DefaultAdam()},
		{"adam weight decay", Config{LR: 1e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1}},
		{"adamw", DefaultAdamW()},
	}
	const k, n = 7, 15
	for _, tc := range cfgs {
		for _, interrupt := range []int{0, k} {
			params, nextGrads := randomProblem(t, 42)
			grads := make([][]*tensor.Dense, n)
			for i := range grads {
				grads[i] = nextGrads()
			}
			lr := func(step int) float64 { return 0.01 * float64(step%4+1) }

			whole, err := NewAdam(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for step := 1; step <= n; step++ {
				if err := whole.Step(params, grads[step-1], lr(step)); err != nil {
					t.Fatal(err)
				}
			}
			want := snapshot(params)

			params, _ = randomProblem(t, 42)
			first, err := NewAdam(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for step := 1; step <= interrupt; step++ {
				if err := first.Step(params, grads[step-1], lr(step)); err != nil {
					t.Fatal(err)
				}
			}
			saved, weights := first.State(), snapshot(params)
			// The interrupted optimizer goes on: its State must not follow.
			if err := first.Step(params, grads[interrupt], 1); err != nil {
				t.Fatal(err)
			}

			params, _ = randomProblem(t, 42)
			restore(t, params, weights)
			second, err := NewAdam(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := second.SetState(saved, params); err != nil {
				t.Fatalf("%s: SetState: %v", tc.name, err)
			}
			if second.Steps() != int64(interrupt) {
				t.Errorf("%s: Steps() after SetState = %d, want %d", tc.name, second.Steps(), interrupt)
			}
			for step := interrupt + 1; step <= n; step++ {
				if err := second.Step(params, grads[step-1], lr(step)); err != nil {
					t.Fatal(err)
				}
			}
			got := snapshot(params)
			for i := range want {
				if !equalFloats(got[i], want[i]) {
					t.Errorf("%s, resumed after %d: %s = %v, uninterrupted %v", tc.name, interrupt, params[i].Name(), got[i], want[i])
				}
			}
			ws, ss := whole.State(), second.State()
			for name, m := range ws.M {
				if !equalFloats(nn.ToFloat64s(m), nn.ToFloat64s(ss.M[name])) ||
					!equalFloats(nn.ToFloat64s(ws.V[name]), nn.ToFloat64s(ss.V[name])) {
					t.Errorf("%s, resumed after %d: moments of %s differ", tc.name, interrupt, name)
				}
			}
		}
	}
}

func snapshot(params []*nn.Param) [][]float64 {
	out := make([][]float64, len(params))
	for i, p := range params {
		out[i] = p.Float64s()
	}
	return out
}

func restore(t *testing.T, params []*nn.Param, vals [][]float64) {
	t.Helper()
	for i, p := range params {
		if err := p.SetFloat64s(vals[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateIsDeepCopy: neither State's result nor SetState's argument
// aliases the optimizer's own tensors.
func TestStateIsDeepCopy(t *testing.T) {
	params, grads := randomProblem(t, 3)
	opt, err := NewAdam(DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(params, grads(), 0.1); err != nil {
		t.Fatal(err)
	}
	s := opt.State()
	m0 := nn.ToFloat64s(s.M["enc.w"])
	if err := opt.Step(params, grads(), 0.1); err != nil {
		t.Fatal(err)
	}
	if !equalFloats(nn.ToFloat64s(s.M["enc.w"]), m0) || s.Step != 1 {
		t.Errorf("a Step changed the State taken before it")
	}
	if err := opt.SetState(s, params); err != nil {
		t.Fatal(err)
	}
	s.M["enc.w"].Float64s()[0] = 1e9
	if got := opt.State().M["enc.w"].Float64s()[0]; got == 1e9 {
		t.Errorf("writing into the State given to SetState changed the optimizer")
	}
}

func TestSetStateFresh(t *testing.T) {
	params, grads := randomProblem(t, 5)
	fresh, err := NewAdam(DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	empty := fresh.State()
	if empty.Step != 0 || len(empty.M) != 0 || len(empty.V) != 0 {
		t.Fatalf("fresh State() = %+v, want step 0 and no moments", empty)
	}
	opt, err := NewAdam(DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(params, grads(), 0.1); err != nil {
		t.Fatal(err)
	}
	if err := opt.SetState(empty, params); err != nil {
		t.Fatalf("SetState(fresh state) = %v", err)
	}
	if s := opt.State(); s.Step != 0 || len(s.M) != 0 {
		t.Errorf("after SetState(fresh state): step %d, %d moments", s.Step, len(s.M))
	}
}

func TestSetStateErrors(t *testing.T) {
	params, grads := randomProblem(t, 9)
	opt, err := NewAdam(DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(params, grads(), 0.1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*State) []*nn.Param
		wantErr string
	}{
		{"valid", func(*State) []*nn.Param { return params }, ""},
		{"negative step", func(s *State) []*nn.Param { s.Step = -1; return params }, "negative"},
		{"moments at step 0", func(s *State) []*nn.Param { s.Step = 0; return params }, "step 0 has moments"},
		{"missing m", func(s *State) []*nn.Param { delete(s.M, "enc.b"); return params }, `state m has no parameter "enc.b"`},
		{"missing v", func(s *State) []*nn.Param { delete(s.V, "head.w"); return params }, `state v has no parameter "head.w"`},
		{"unknown name", func(s *State) []*nn.Param { return params[:3] }, `unknown parameter "head.b"`},
		{"extra param", func(*State) []*nn.Param {
			return append(params[:4:4], newParam(t, "extra", tensor.Float64, nil, 2))
		}, `no parameter "extra"`},
		{"duplicate param", func(*State) []*nn.Param { return append(params[:4:4], params[0]) }, "duplicate parameter name"},
		{"nil tensor", func(s *State) []*nn.Param { s.M["enc.w"] = nil; return params }, "is nil"},
		{"shape", func(s *State) []*nn.Param {
			s.M["enc.w"] = newDense(tensor.Float64, make([]float64, 12), 4, 3)
			return params
		}, "shape (4, 3), want (3, 4)"},
		{"dtype", func(s *State) []*nn.Param {
			s.V["enc.b"] = newDense(tensor.Float32, make([]float64, 4), 4)
			return params
		}, "dtype float32, want float64"},
		{"negative v", func(s *State) []*nn.Param { s.V["enc.b"].Float64s()[2] = -1; return params }, "element 2 is negative or NaN"},
		{"NaN v", func(s *State) []*nn.Param { s.V["head.w"].Float32s()[5] = float32(math.NaN()); return params }, "element 5 is negative or NaN"},
	}
	for _, tt := range tests {
		s := opt.State()
		ps := tt.edit(&s)
		before := opt.State()
		err := opt.SetState(s, ps)
		if !errorMatches(err, tt.wantErr) {
			t.Errorf("%s: SetState() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
		if err == nil {
			continue
		}
		after := opt.State()
		if after.Step != before.Step || len(after.M) != len(before.M) {
			t.Errorf("%s: failed SetState changed the optimizer", tt.name)
		}
		for name, m := range before.M {
			if !equalFloats(nn.ToFloat64s(m), nn.ToFloat64s(after.M[name])) {
				t.Errorf("%s: failed SetState changed m of %s", tt.name, name)
			}
		}
	}
}
