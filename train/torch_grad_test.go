package train_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
	"github.com/qkv-dev/qkv/train"
)

// gradFixtureTensor is one tensor of a gradient fixture, flattened row-major.
type gradFixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// gradFixture is what scripts/model_grad_fixture.py writes: a whole model's
// weights, a padded batch, and PyTorch's logits, loss and gradient of every
// weight, keyed by Go parameter name.
type gradFixture struct {
	Name         string `json:"name"`
	TorchVersion string `json:"torch_version"`
	Config       struct {
		DModel     int    `json:"d_model"`
		Heads      int    `json:"heads"`
		Layers     int    `json:"layers"`
		DFF        int    `json:"d_ff"`
		Activation string `json:"activation"`
		Norm       string `json:"norm"`
		Pos        string `json:"pos"`
		Kind       string `json:"kind"`
		InVocab    int    `json:"in_vocab"`
		OutVocab   int    `json:"out_vocab"`
		MaxLen     int    `json:"max_len"`
	} `json:"config"`
	Inputs  map[string]gradFixtureTensor `json:"inputs"`
	Params  map[string]gradFixtureTensor `json:"params"`
	Outputs map[string]gradFixtureTensor `json:"outputs"`
	Grads   map[string]gradFixtureTensor `json:"grads"`
}

// Tolerances of TestTorchModelGradients, relative to the largest magnitude
// of the tensor compared (of all gradients, for a tensor that is zero but
// for rounding, like the key biases' gradients). Measured: 1.9e-15 in
// float64, 4.8e-7 in float32.
const (
	gradTol64 = 1e-13
	gradTol32 = 5e-6
)

// TestTorchModelGradients: the whole model of train, in the options the
// encoder fixture of layers does not take — pre-norm with the final layer
// norm, GELU, learned positions and the classification head (masked mean) —
// gives PyTorch's logits, loss and the gradient of every parameter, in
// float64 and float32, on a batch with padding. The learned table has rows
// past the batch's length, whose gradient must be zero. Regenerate the
// fixture with /usr/bin/python3 scripts/model_grad_fixture.py.
func TestTorchModelGradients(t *testing.T) {
	path := filepath.Join("testdata", "torch_grad_pre_gelu_learned_classify.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/model_grad_fixture.py)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f gradFixture
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := f.Config
	if c.Kind != "classification" || c.Norm != "pre" || c.Activation != string(layers.GELU) || c.Pos != string(layers.Learned) {
		t.Fatalf("%s: %s, %s-norm, %s, %s positions; want classification, pre, gelu, learned", path, c.Kind, c.Norm, c.Activation, c.Pos)
	}
	ids, keep, targets := f.Inputs["ids"], f.Inputs["keep"], f.Inputs["targets"]
	if len(ids.Shape) != 2 || !slices.Equal(ids.Shape, keep.Shape) || !slices.Equal(targets.Shape, ids.Shape[:1]) {
		t.Fatalf("%s: inputs of shapes %v, %v, %v", path, ids.Shape, keep.Shape, targets.Shape)
	}
	batch, length := ids.Shape[0], ids.Shape[1]
	if length >= c.MaxLen || !slices.Contains(keep.Data, 0) {
		t.Fatalf("%s: want padding and fewer positions (%d) than the learned table's %d", path, length, c.MaxLen)
	}

	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			m, err := train.NewModel(train.ModelConfig{
				Kind: data.Classification, InVocab: c.InVocab, OutVocab: c.OutVocab, MaxLen: c.MaxLen,
				Architecture: train.Architecture{
					DModel: c.DModel, Layers: c.Layers, Dtype: train.Dtype(dt.String()),
					TransformerConfig: train.TransformerConfig{
						Heads: c.Heads, DFF: c.DFF, Activation: layers.Activation(c.Activation), Norm: layers.PreNorm, Positional: layers.Positional(c.Pos),
					},
				},
			}, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				ft, ok := f.Params[p.Name()]
				if !ok {
					t.Fatalf("the fixture has no weight for parameter %s", p.Name())
				}
				if !p.Shape().Eq(tensor.Shape(ft.Shape)) {
					t.Fatalf("parameter %s is %v, the fixture's %v", p.Name(), p.Shape(), ft.Shape)
				}
				if err := p.SetFloat64s(ft.Data); err != nil {
					t.Fatal(err)
				}
			}
			if len(m.Params()) != len(f.Params) || len(f.Grads) != len(f.Params) {
				t.Fatalf("model has %d parameters, fixture %d weights and %d gradients", len(m.Params()), len(f.Params), len(f.Grads))
			}

			gr, err := m.Build(batch, length, train.Training)
			if err != nil {
				t.Fatal(err)
			}
			defer gr.Close()
			nn.FromFloat64s(gr.Ids, ids.Data)
			nn.FromFloat64s(gr.Keep, keep.Data)
			nn.FromFloat64s(gr.Targets, targets.Data)
			if err := gr.Prog.Run(); err != nil {
				t.Fatal(err)
			}

			tol := gradTol64
			if dt == tensor.Float32 {
				tol = gradTol32
			}
			var worst float64
			check := func(what string, got []float64, shape tensor.Shape, want gradFixtureTensor, floor float64) {
				t.Helper()
				if !shape.Eq(tensor.Shape(want.Shape)) {
					t.Errorf("%s: shape %v, want %v", what, shape, want.Shape)
					return
				}
				scale := maxAbsOf(want.Data)
				if scale < 1e-12 {
					scale = floor
				}
				for i, w := range want.Data {
					e := math.Abs(got[i]-w) / scale
					if !(e <= tol) {
						t.Errorf("%s[%d] = %.12g, PyTorch %.12g (|Δ|/max %.3g > %g)", what, i, got[i], w, e, tol)
						return
					}
					worst = max(worst, e)
				}
			}
			logits := gr.Prog.Output(0)
			check("logits", nn.ToFloat64s(logits), logits.Shape(), f.Outputs["logits"], 0)
			check("loss", []float64{gr.Prog.Loss()}, tensor.Shape{1}, f.Outputs["loss"], 0)

			var floor float64
			for _, g := range f.Grads {
				floor = max(floor, maxAbsOf(g.Data))
			}
			grads, bound := gr.Prog.Grads(), gr.Params()
			if len(bound) != len(f.Grads) {
				t.Fatalf("the training graph binds %d parameters, the fixture has %d gradients", len(bound), len(f.Grads))
			}
			compared := map[string]bool{}
			for i, p := range bound {
				want, ok := f.Grads[p.Name()]
				if !ok {
					t.Fatalf("the fixture has no gradient for %s", p.Name())
				}
				check("gradient of "+p.Name(), nn.ToFloat64s(grads[i]), grads[i].Shape(), want, floor)
				compared[p.Name()] = true
			}
			if len(compared) != len(f.Grads) {
				t.Errorf("compared %d gradients of the fixture's %d", len(compared), len(f.Grads))
			}
			t.Logf("%s %v (torch %s): logits, loss and %d gradients, max |Go − PyTorch|/max %.3g",
				f.Name, dt, f.TorchVersion, len(compared), worst)
		})
	}
}

func maxAbsOf(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
