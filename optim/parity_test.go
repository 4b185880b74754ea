package optim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// fixture is one PyTorch run written by scripts/optim_fixtures.py.
type fixture struct {
	Name         string `json:"name"`
	TorchVersion string `json:"torch_version"`
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
		Step   int64       `json:"step"`
		Loss   float64     `json:"loss"`
		LR     float64     `json:"lr"`
		Norm   float64     `json:"norm"`
		Grads  [][]float64 `json:"grads"`
		Params [][]float64 `json:"params"`
	} `json:"steps"`
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures in testdata; run /usr/bin/python3 scripts/optim_fixtures.py")
	}
	var fs []fixture
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var f fixture
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		fs = append(fs, f)
	}
	return fs
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

// TestPyTorchParity replays PyTorch's raw gradients through ClipGradNorm,
// the schedule and Adam.Step and compares every step with PyTorch's.
func TestPyTorchParity(t *testing.T) {
	var worstParam, worstNorm, worstLR float64
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			sched := f.schedule(t)
			opt, err := NewAdam(f.Config)
			if err != nil {
				t.Fatal(err)
			}
			params := make([]*nn.Param, len(f.Init))
			for i, in := range f.Init {
				p, err := nn.NewParam(in.Name, tensor.Float64, in.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.SetFloat64s(in.Value); err != nil {
					t.Fatal(err)
				}
				params[i] = p
			}
			// Without clipping (whose norm sums in another order than
			// PyTorch's) and without math.Cos (not glibc's cos), every
			// operation is IEEE-exact and in PyTorch's order: the
			// trajectories must be bit-identical.
			exact := f.MaxNorm <= 0 && f.Schedule.Kind != "cosine"
			var maxParam, maxNorm, maxLR float64
			for _, st := range f.Steps {
				lr := sched.LR(st.Step)
				if e := relErr(lr, st.LR); e > 1e-14 {
					t.Fatalf("step %d: %v.LR = %v, PyTorch used %v", st.Step, sched, lr, st.LR)
				} else {
					maxLR = max(maxLR, e)
				}
				grads := make([]*tensor.Dense, len(params))
				for i, p := range params {
					g := append([]float64(nil), st.Grads[i]...)
					grads[i] = tensor.New(tensor.WithShape(p.Shape().Clone()...), tensor.WithBacking(g))
				}
				norm := ClipGradNorm(grads, f.MaxNorm)
				if e := relErr(norm, st.Norm); e > 1e-12 {
					t.Fatalf("step %d: norm %v, PyTorch %v", st.Step, norm, st.Norm)
				} else {
					maxNorm = max(maxNorm, e)
				}
				if err := opt.Step(params, grads, lr); err != nil {
					t.Fatal(err)
				}
				for i, p := range params {
					for j, got := range p.Float64s() {
						want := st.Params[i][j]
						d := math.Abs(got - want)
						if d > 1e-9 {
							t.Fatalf("step %d: %s[%d] = %v, PyTorch %v", st.Step, p.Name(), j, got, want)
						}
						maxParam = max(maxParam, d)
					}
				}
			}
			if exact && maxParam != 0 {
				t.Errorf("max |Δparam| = %g, want 0: the update no longer mirrors PyTorch's operation order", maxParam)
			}
			if opt.Steps() != int64(len(f.Steps)) {
				t.Errorf("Steps() = %d, want %d", opt.Steps(), len(f.Steps))
			}
			t.Logf("%s (torch %s, %d steps): max |Δparam| %.3g, max rel Δnorm %.3g, max rel Δlr %.3g",
				f.Name, f.TorchVersion, len(f.Steps), maxParam, maxNorm, maxLR)
			worstParam, worstNorm, worstLR = max(worstParam, maxParam), max(worstNorm, maxNorm), max(worstLR, maxLR)
		})
	}
	t.Logf("all fixtures: max |Δparam| %.3g, max rel Δnorm %.3g, max rel Δlr %.3g", worstParam, worstNorm, worstLR)
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
