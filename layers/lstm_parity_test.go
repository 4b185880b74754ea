package layers

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// lstmTensor is one tensor of the LSTM fixture, flattened row-major.
type lstmTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// lstmFixture is PyTorch's torch.nn.LSTM on packed sequences, written by
// scripts/lstm_fixtures.py. Params and Grads are keyed by Go parameter name,
// "lstm." + PyTorch's state-dict key; Grads also holds "x".
type lstmFixture struct {
	Name         string `json:"name"`
	TorchVersion string `json:"torch_version"`
	Config       struct {
		Input         int  `json:"input"`
		Hidden        int  `json:"hidden"`
		Layers        int  `json:"layers"`
		Bidirectional bool `json:"bidirectional"`
	} `json:"config"`
	Inputs  map[string]lstmTensor `json:"inputs"`
	Params  map[string]lstmTensor `json:"params"`
	Outputs map[string]lstmTensor `json:"outputs"`
	Grads   map[string]lstmTensor `json:"grads"`
}

func loadLSTMFixture(t *testing.T) *lstmFixture {
	t.Helper()
	path := filepath.Join("testdata", "lstm.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/lstm_fixtures.py)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f lstmFixture
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &f
}

func (f *lstmFixture) get(t *testing.T, group map[string]lstmTensor, name string) lstmTensor {
	t.Helper()
	ft, ok := group[name]
	if !ok {
		t.Fatalf("fixture %s: no tensor %q", f.Name, name)
	}
	if n := tensor.Shape(ft.Shape).TotalSize(); n != len(ft.Data) {
		t.Fatalf("fixture %s: tensor %q has shape %v but %d values", f.Name, name, ft.Shape, len(ft.Data))
	}
	return ft
}

// TestLSTMParity loads PyTorch's weights by name into a 2-layer
// bidirectional LSTM and compares the output over a padded batch of
// different lengths, the loss Σ r⊙y and the gradient of every weight and of
// the input. float64 must agree to 1e-12 and float32 to 1e-5, each relative
// to the largest magnitude of the tensor compared (at least 1).
func TestLSTMParity(t *testing.T) {
	f := loadLSTMFixture(t)
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			c := f.Config
			l, err := NewLSTM("lstm", LSTMConfig{Input: c.Input, Hidden: c.Hidden, Layers: c.Layers, Bidirectional: c.Bidirectional, Dtype: dt}, newRand(1))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range l.Params() {
				ft := f.get(t, f.Params, p.Name())
				if !p.Shape().Eq(tensor.Shape(ft.Shape)) {
					t.Fatalf("parameter %q is %v, PyTorch's %v", p.Name(), p.Shape(), ft.Shape)
				}
				if err := p.SetFloat64s(ft.Data); err != nil {
					t.Fatal(err)
				}
			}
			if len(l.Params()) != len(f.Params) {
				t.Fatalf("the LSTM has %d parameters, PyTorch's %d", len(l.Params()), len(f.Params))
			}

			g, err := nn.NewGraph(dt, true)
			if err != nil {
				t.Fatal(err)
			}
			xs := f.get(t, f.Inputs, "x")
			x, err := nn.NewParam("x", dt, xs.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			if err := x.SetFloat64s(xs.Data); err != nil {
				t.Fatal(err)
			}
			xn, err := g.Param(x)
			if err != nil {
				t.Fatal(err)
			}
			ks := f.get(t, f.Inputs, "keep")
			keep, err := feed(g, "keep", ks.Data, ks.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			y, err := l.Forward(g, xn, keep) // [B,T,2H]
			if err != nil {
				t.Fatal(err)
			}
			rs := f.get(t, f.Inputs, "r")
			r := tensor.New(tensor.Of(dt), tensor.WithShape(rs.Shape...))
			nn.FromFloat64s(r, rs.Data)
			rn, err := g.Constant("r", r)
			if err != nil {
				t.Fatal(err)
			}
			ry, err := G.HadamardProd(y, rn)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := G.Sum(ry)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := nn.Compile(g, loss, true, y)
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}

			compare := func(what string, got []float64, want lstmTensor) float64 {
				t.Helper()
				if len(got) != len(want.Data) {
					t.Errorf("%s: %d values, PyTorch %d", what, len(got), len(want.Data))
					return math.Inf(1)
				}
				scale := 1.0
				for _, w := range want.Data {
					scale = math.Max(scale, math.Abs(w))
				}
				var worst float64
				at := 0
				for i, w := range want.Data {
					if d := math.Abs(got[i]-w) / scale; d > worst || math.IsNaN(d) {
						worst, at = d, i
					}
				}
				tol := 1e-12
				if dt == tensor.Float32 {
					tol = 1e-5
				}
				if !(worst <= tol) {
					t.Errorf("%s: |Go − PyTorch| / %.3g = %.3g at [%d] (Go %.15g, PyTorch %.15g), tolerance %g",
						what, scale, worst, at, got[at], want.Data[at], tol)
				}
				return worst
			}
			worstOut := compare("output y", nn.ToFloat64s(prog.Output(0)), f.get(t, f.Outputs, "y"))
			worstOut = math.Max(worstOut, compare("loss", []float64{prog.Loss()}, f.get(t, f.Outputs, "loss")))
			var worstGrad float64
			bound := g.Params()
			if len(bound) != len(f.Grads) {
				t.Errorf("graph binds %d parameters (the input included), PyTorch has %d gradients", len(bound), len(f.Grads))
			}
			for i, gr := range prog.Grads() {
				name := bound[i].Name()
				worstGrad = math.Max(worstGrad, compare("gradient of "+name, nn.ToFloat64s(gr), f.get(t, f.Grads, name)))
			}
			t.Logf("%v (torch %s): max relative |Go − PyTorch| output and loss %.3g, gradients %.3g",
				dt, f.TorchVersion, worstOut, worstGrad)
		})
	}
}
