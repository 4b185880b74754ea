package optim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// parityFixtures are the files of testdata (without .json) that
// scripts/optim_fixtures.py writes and the parity tests replay, named here
// so that a deleted or renamed file fails the tests instead of shrinking
// them: each configuration in float64 and, as the default training run, in
// float32.
var parityFixtures = []string{
	"adam_constant", "adam_weight_decay", "adamw_cosine_clip", "adamw_noam",
	"adam_constant_f32", "adam_weight_decay_f32", "adamw_cosine_clip_f32", "adamw_noam_f32",
}

// fixture is one PyTorch run written by scripts/optim_fixtures.py.
type fixture struct {
	Name         string `json:"name"`
	TorchVersion string `json:"torch_version"`
	Dtype        string `json:"dtype"` // float64 or float32: model, gradients and optimizer state
	Config       Config `json:"config"`
	Schedule     struct {
		Kind   string  `json:"kind"`
		Peak   float64 `json:"peak"`
		Min    float64 `json:"min"`
		Warmup int64   `json:"warmup"`
		Total  int64   `json:"total"`
		DModel int     `json:"d_model"`
	} `json:"schedule"`
	MaxNorm float64 `json:"max_norm"`
	Init    []struct {
		Name  string    `json:"name"`
		Shape []int     `json:"shape"`
		Value []float64 `json:"value"`
	} `json:"init"`
	Steps []struct {
		Step    int64       `json:"step"`
		Loss    float64     `json:"loss"`
		LR      float64     `json:"lr"`
		Norm    float64     `json:"norm"`
		Grads   [][]float64 `json:"grads"`   // raw, before clipping
		Clipped [][]float64 `json:"clipped"` // after clip_grad_norm_; only when MaxNorm > 0
		Params  [][]float64 `json:"params"`
	} `json:"steps"`
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if name := strings.TrimSuffix(filepath.Base(path), ".json"); !slices.Contains(parityFixtures, name) {
			t.Errorf("%s is not in parityFixtures: add it, or delete it", path)
		}
	}
	var fs []fixture
	for _, name := range parityFixtures {
		path := filepath.Join("testdata", name+".json")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/optim_fixtures.py)", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var f fixture
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if f.Name != name {
			t.Fatalf("%s holds fixture %q", path, f.Name)
		}
		if len(f.Steps) == 0 || len(f.Init) == 0 {
			t.Fatalf("%s: %d steps of %d parameters", path, len(f.Steps), len(f.Init))
		}
		for _, st := range f.Steps {
			if (f.MaxNorm > 0) != (st.Clipped != nil) {
				t.Fatalf("%s: step %d: max_norm %v but clipped gradients %v", path, st.Step, f.MaxNorm, st.Clipped != nil)
			}
		}
		fs = append(fs, f)
	}
	return fs
}

func (f *fixture) dtype(t *testing.T) tensor.Dtype {
	t.Helper()
	switch f.Dtype {
	case "float64":
		return tensor.Float64
	case "float32":
		return tensor.Float32
	}
	t.Fatalf("%s: dtype %q", f.Name, f.Dtype)
	return tensor.Dtype{}
}

// fixtureDense returns vals as a tensor of dtype dt, failing if a value is not
// exactly representable (a float32 fixture holds float32 values widened).
func fixtureDense(t *testing.T, dt tensor.Dtype, shape tensor.Shape, vals []float64) *tensor.Dense {
	t.Helper()
	if dt == tensor.Float32 {
		for i, v := range vals {
			if float64(float32(v)) != v {
				t.Fatalf("value %d, %v, is not a float32", i, v)
			}
		}
	}
	return newDense(dt, vals, shape...)
}

// params returns the fixture's initial parameters in its dtype.
func (f *fixture) params(t *testing.T) []*nn.Param {
	t.Helper()
	dt := f.dtype(t)
	ps := make([]*nn.Param, len(f.Init))
	for i, in := range f.Init {
		ps[i] = newParam(t, in.Name, dt, nn.ToFloat64s(fixtureDense(t, dt, in.Shape, in.Value)), in.Shape...)
	}
	return ps
}

func (f *fixture) schedule(t *testing.T) Schedule {
	t.Helper()
	s := f.Schedule
	sched, err := NewSchedule(s.Kind, s.Peak, s.Min, s.Warmup, s.Total, s.DModel)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return sched
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), math.SmallestNonzeroFloat64)
}

// ulps returns how many values of dtype dt lie between got and want: 0
// when they are equal, the most there is when their signs differ or one is
// NaN.
func ulps(dt tensor.Dtype, got, want float64) uint64 {
	if got == want {
		return 0
	}
	if math.IsNaN(got) || math.IsNaN(want) || math.Signbit(got) != math.Signbit(want) {
		return math.MaxUint64
	}
	a, b := math.Float64bits(got), math.Float64bits(want)
	if dt == tensor.Float32 {
		a, b = uint64(math.Float32bits(float32(got))), uint64(math.Float32bits(float32(want)))
	}
	if a > b {
		return a - b
	}
	return b - a
}

// The whole pipeline's bounds against PyTorch where it cannot be bit for bit
// (see TestPyTorchParity): the largest differences measured on the
// committed fixtures, which Go reproduces on every machine (math.Cos and
// the sums are pure Go, math.FMA is exact everywhere), rounded up to one
// significant digit for the drift.
const (
	parityLRUlps   = 2     // math.Cos vs glibc cos, through (peak − min)·½(1 + cos)
	parityNormUlps = 2     // float32: PyTorch accumulates the norm in float32
	parityClipUlps = 3     // the norm's ulp, through maxNorm/(norm + 1e-6)
	parityDrift64  = 4e-16 // 50 steps of Adam from gradients an ulp or two apart
	parityDrift32  = 2e-7
)

// maxAbs returns the largest magnitude in xs.
func maxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// TestPyTorchParity replays each fixture's raw gradients twice.
//
// Adam alone: the learning rate PyTorch used and the gradients its
// optimizer received (after clip_grad_norm_ where the fixture clips) go
// into Adam.Step. Every parameter after every step must equal PyTorch's bit
// for bit, in float64 and in float32, for every fixture, cosine and
// clipping included: Adam.Step mirrors PyTorch's kernels operation for
// operation, so any difference is a defect.
//
// The whole pipeline: Go's schedule and ClipGradNorm on the raw gradients,
// then Adam.Step. Bit for bit too wherever Go's rate and norm are PyTorch's:
// the constant and noam fixtures, which do not clip. The cosine-and-clipping
// fixture cannot be bit for bit, for two reasons outside this package:
//
//   - the rate: math.Cos is not glibc's cos (which Python's math.cos calls);
//     the two differ by an ulp for some arguments (on 7 of the fixture's 34
//     cosine steps), which ½(1 + cos) and the scaling turn into up to 2 ulps
//     of the rate;
//   - the norm: clip_grad_norm_ takes the norm of each gradient in ATen's
//     vectorised reduction, whose lanes and order follow the CPU capability
//     ATen picks at run time, then the norm of those norms; in float32 it
//     also accumulates and computes the clipping coefficient in float32.
//     PyTorch does not agree with itself: the same float64 gradients give
//     norms an ulp apart under ATEN_CPU_CAPABILITY=default and =avx2
//     (checked with PyTorch 1.13 here). ClipGradNorm sums every square in
//     float64, in order, the same on every machine; matching ATen would tie
//     Go to one build of PyTorch on one CPU.
//
// So that fixture is held to the tightest bounds that hold, each checked on
// its own: the rate within parityLRUlps, the norm within parityNormUlps, the
// clipped gradients within parityClipUlps of PyTorch's, and the replayed
// parameters within parityDrift of PyTorch's, relative to the largest
// magnitude of their tensor; and Adam alone, above, is exact on it.
func TestPyTorchParity(t *testing.T) {
	bounds := map[tensor.Dtype]struct {
		lr, norm, clip uint64  // ulps
		drift          float64 // |Δparam| / max |param| of its tensor
	}{
		tensor.Float64: {parityLRUlps, parityNormUlps, parityClipUlps, parityDrift64},
		tensor.Float32: {parityLRUlps, parityNormUlps, parityClipUlps, parityDrift32},
	}
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			dt := f.dtype(t)
			sched := f.schedule(t)
			exact := f.MaxNorm <= 0 && f.Schedule.Kind != "cosine"
			adam := func() *Adam {
				opt, err := NewAdam(f.Config)
				if err != nil {
					t.Fatal(err)
				}
				return opt
			}
			alone, whole := adam(), adam()
			pAlone, pWhole := f.params(t), f.params(t)
			var (
				lrUlps, normUlps, clipUlps, aloneUlps, wholeUlps uint64
				drift                                            float64
			)
			for _, st := range f.Steps {
				grads := func(vals [][]float64) []*tensor.Dense {
					gs := make([]*tensor.Dense, len(pAlone))
					for i, p := range pAlone {
						gs[i] = fixtureDense(t, dt, p.Shape(), vals[i])
					}
					return gs
				}
				applied := st.Grads
				if f.MaxNorm > 0 {
					applied = st.Clipped
				}
				if err := alone.Step(pAlone, grads(applied), st.LR); err != nil {
					t.Fatal(err)
				}

				lr := sched.LR(st.Step)
				lrUlps = max(lrUlps, ulps(tensor.Float64, lr, st.LR))
				gs := grads(st.Grads)
				norm := ClipGradNorm(gs, f.MaxNorm)
				normUlps = max(normUlps, ulps(dt, norm, st.Norm))
				for i, g := range gs {
					for j, x := range nn.ToFloat64s(g) {
						clipUlps = max(clipUlps, ulps(dt, x, applied[i][j]))
					}
				}
				if err := whole.Step(pWhole, gs, lr); err != nil {
					t.Fatal(err)
				}

				for i := range pAlone {
					for j, want := range st.Params[i] {
						a, w := pAlone[i].Float64s()[j], pWhole[i].Float64s()[j]
						if u := ulps(dt, a, want); u > aloneUlps {
							aloneUlps = u
							if u > 0 {
								t.Errorf("Adam alone, step %d: %s[%d] = %v, PyTorch %v (%d ulps)", st.Step, pAlone[i].Name(), j, a, want, u)
							}
						}
						wholeUlps = max(wholeUlps, ulps(dt, w, want))
						drift = max(drift, math.Abs(w-want)/maxAbs(st.Params[i]))
					}
				}
				if t.Failed() {
					t.FailNow()
				}
			}
			if alone.Steps() != int64(len(f.Steps)) || whole.Steps() != int64(len(f.Steps)) {
				t.Errorf("Steps() = %d and %d, want %d", alone.Steps(), whole.Steps(), len(f.Steps))
			}
			t.Logf("%s (%s, torch %s, %d steps): Adam alone max %d ulps; whole pipeline: rate %d ulps, norm %d, clipped gradients %d, parameters %d ulps (relative %.3g)",
				f.Name, dt, f.TorchVersion, len(f.Steps), aloneUlps, lrUlps, normUlps, clipUlps, wholeUlps, drift)
			b := bounds[dt]
			if lrUlps > b.lr || normUlps > b.norm || clipUlps > b.clip || drift > b.drift {
				t.Errorf("whole pipeline: rate %d ulps (bound %d), norm %d ulps (bound %d), clipped gradients %d ulps (bound %d), parameters %.3g relative (bound %.3g) from PyTorch's",
					lrUlps, b.lr, normUlps, b.norm, clipUlps, b.clip, drift, b.drift)
			}
			if exact && (lrUlps|wholeUlps) != 0 {
				t.Errorf("whole pipeline: rate %d ulps, parameters %d ulps from PyTorch's, want 0: the schedule or the update no longer mirrors PyTorch's arithmetic", lrUlps, wholeUlps)
			}
		})
	}
}

// TestFixturesClip makes sure the clipping fixture exercises both branches.
func TestFixturesClip(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if f.MaxNorm <= 0 {
			continue
		}
		var clipped int
		for _, st := range f.Steps {
			if f.MaxNorm/(st.Norm+1e-6) < 1 {
				clipped++
			}
		}
		if clipped == 0 || clipped == len(f.Steps) {
			t.Errorf("%s: clips on %d of %d steps; want some but not all", f.Name, clipped, len(f.Steps))
		}
	}
}
