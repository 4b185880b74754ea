package layers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// fixtureTensor is one tensor of a fixture, flattened row-major.
type fixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// fixture is one PyTorch reference computation written by
// scripts/layer_fixtures.py. Params and Grads are keyed by Go parameter
// name; Grads also holds "x", the gradient of the input where there is one.
type fixture struct {
	Name         string `json:"name"`
	TorchVersion string `json:"torch_version"`
	Kind         string `json:"kind"` // attention, encoder_layer or encoder
	Config       struct {
		DModel     int     `json:"d_model"`
		Heads      int     `json:"heads"`
		DFF        int     `json:"d_ff"`
		Activation string  `json:"activation"`
		NormFirst  bool    `json:"norm_first"`
		Eps        float64 `json:"eps"`
		Layers     int     `json:"layers"`
		Vocab      int     `json:"vocab"`
		Input      int     `json:"input"`       // a recurrent layer's input width
		Hidden     int     `json:"hidden"`      // a recurrent layer's state width
		Padding    bool    `json:"padding"`     // attend: keys masked by keep
		Causal     bool    `json:"causal"`      // attend, attention: query i sees keys j ≤ i
		RotaryBase float64 `json:"rotary_base"` // rotary positions' θ base
	} `json:"config"`
	Inputs  map[string]fixtureTensor `json:"inputs"`
	Params  map[string]fixtureTensor `json:"params"`
	Outputs map[string]fixtureTensor `json:"outputs"`
	Grads   map[string]fixtureTensor `json:"grads"`
}

func loadFixture(t *testing.T, name string) *fixture {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/layer_fixtures.py)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f fixture
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &f
}

func (f *fixture) tensor(t *testing.T, group map[string]fixtureTensor, name string) fixtureTensor {
	t.Helper()
	ft, ok := group[name]
	if !ok {
		t.Fatalf("%s: no tensor %q", f.Name, name)
	}
	if n := tensor.Shape(ft.Shape).TotalSize(); n != len(ft.Data) {
		t.Fatalf("%s: tensor %q has shape %v but %d values", f.Name, name, ft.Shape, len(ft.Data))
	}
	return ft
}

// load writes the fixture's weights into every parameter of m and checks
// that the fixture holds no weight that m lacks.
func (f *fixture) load(t *testing.T, m nn.Module) {
	t.Helper()
	ps := m.Params()
	for _, p := range ps {
		ft := f.tensor(t, f.Params, p.Name())
		if !p.Shape().Eq(tensor.Shape(ft.Shape)) {
			t.Fatalf("%s: parameter %q is %v, fixture has %v", f.Name, p.Name(), p.Shape(), ft.Shape)
		}
		if err := p.SetFloat64s(ft.Data); err != nil {
			t.Fatal(err)
		}
	}
	if len(ps) != len(f.Params) {
		t.Fatalf("%s: model has %d parameters, fixture %d", f.Name, len(ps), len(f.Params))
	}
}

// inputParam makes the fixture input name a parameter, so that its gradient
// is computed, and binds it into g.
func (f *fixture) inputParam(t *testing.T, g *nn.Graph, name string) *G.Node {
	t.Helper()
	ft := f.tensor(t, f.Inputs, name)
	p, err := nn.NewParam(name, g.Dtype(), ft.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetFloat64s(ft.Data); err != nil {
		t.Fatal(err)
	}
	n, err := g.Param(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// input adds the fixture input name (a mask, ids, targets) as a graph input.
func (f *fixture) input(t *testing.T, g *nn.Graph, name string) *G.Node {
	t.Helper()
	ft := f.tensor(t, f.Inputs, name)
	n, v, err := g.Input(name, ft.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	nn.FromFloat64s(v, ft.Data)
	return n
}

// weightedSum returns Σ r⊙y with r the fixture's input "r".
func (f *fixture) weightedSum(t *testing.T, g *nn.Graph, y *G.Node) *G.Node {
	t.Helper()
	ft := f.tensor(t, f.Inputs, "r")
	r := tensor.New(tensor.Of(g.Dtype()), tensor.WithShape(ft.Shape...))
	nn.FromFloat64s(r, ft.Data)
	rn, err := g.Constant("r", r)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := G.HadamardProd(y, rn)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	return loss
}

func (f *fixture) layerConfig(dt tensor.Dtype) layers.EncoderLayerConfig {
	c := f.Config
	norm := layers.PostNorm
	if c.NormFirst {
		norm = layers.PreNorm
	}
	return layers.EncoderLayerConfig{DModel: c.DModel, Heads: c.Heads, DFF: c.DFF, Activation: layers.Activation(c.Activation),
		Norm: norm, Eps: c.Eps, Dtype: dt}
}

// built is a fixture's computation in a graph: the model whose parameters
// the fixture holds, the loss, and named outputs to compare.
type built struct {
	model   nn.Module
	loss    *G.Node
	outputs map[string]*G.Node
}

func buildAttention(t *testing.T, f *fixture, g *nn.Graph, rng *rand.Rand) built {
	cfg := layers.AttentionConfig{DModel: f.Config.DModel, Heads: f.Config.Heads, Dtype: g.Dtype()}
	a, err := layers.NewMultiHeadAttention("attn", cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	f.load(t, a)
	y, w, err := a.Forward(g, f.inputParam(t, g, "x"), f.input(t, g, "keep"))
	if err != nil {
		t.Fatal(err)
	}
	return built{a, f.weightedSum(t, g, y), map[string]*G.Node{"y": y, "weights": w}}
}

func buildEncoderLayer(t *testing.T, f *fixture, g *nn.Graph, rng *rand.Rand) built {
	l, err := layers.NewEncoderLayer("layer", f.layerConfig(g.Dtype()), rng)
	if err != nil {
		t.Fatal(err)
	}
	f.load(t, l)
	y, w, err := l.Forward(g, f.inputParam(t, g, "x"), f.input(t, g, "keep"))
	if err != nil {
		t.Fatal(err)
	}
	return built{l, f.weightedSum(t, g, y), map[string]*G.Node{"y": y, "weights": w}}
}

// encoderModel is embedding → sinusoidal positions → encoder → head.
type encoderModel struct {
	embed   *layers.Embedding
	encoder *layers.Encoder
	head    *layers.Linear
}

func (m encoderModel) Params() []*nn.Param {
	ps := m.embed.Params()
	ps = append(ps, m.encoder.Params()...)
	return append(ps, m.head.Params()...)
}

func buildEncoder(t *testing.T, f *fixture, g *nn.Graph, rng *rand.Rand) built {
	c, dt := f.Config, g.Dtype()
	embed, err := layers.NewEmbedding("embed", layers.EmbeddingConfig{Vocab: c.Vocab, DModel: c.DModel, Scale: true, Dtype: dt}, rng)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := layers.NewPositionalEncoding("pe", layers.PositionalConfig{Kind: layers.Sinusoidal, DModel: c.DModel, MaxLen: 0, Dtype: dt}, rng)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := layers.NewEncoder("encoder", layers.EncoderConfig{Layers: c.Layers, Layer: f.layerConfig(dt)}, rng)
	if err != nil {
		t.Fatal(err)
	}
	head, err := layers.NewLinear("head", layers.LinearConfig{In: c.DModel, Out: c.Vocab, Dtype: dt}, rng)
	if err != nil {
		t.Fatal(err)
	}
	m := encoderModel{embed, enc, head}
	f.load(t, m)

	ids, keep, targets := f.input(t, g, "ids"), f.input(t, g, "keep"), f.input(t, g, "targets")
	b, n := ids.Shape()[0], ids.Shape()[1]
	x, err := embed.Forward(g, ids) // [B,T,D]
	if err != nil {
		t.Fatal(err)
	}
	if x, err = pe.Forward(g, x); err != nil {
		t.Fatal(err)
	}
	hidden, weights, err := enc.Forward(g, x, keep) // [B,T,D], [B,H,T,T] per layer
	if err != nil {
		t.Fatal(err)
	}
	logits, err := head.Forward(g, hidden) // [B,T,V]
	if err != nil {
		t.Fatal(err)
	}
	rows, err := G.Reshape(logits, tensor.Shape{b * n, c.Vocab}) // [B*T,V]
	if err != nil {
		t.Fatal(err)
	}
	loss, err := nn.CrossEntropy(rows, targets)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]*G.Node{"hidden": hidden, "logits": logits}
	for i, w := range weights {
		outputs[fmt.Sprintf("weights.%d", i)] = w
	}
	return built{m, loss, outputs}
}

// maxAbs returns the largest magnitude in xs.
func maxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// largest returns the largest magnitude over every tensor of group.
func largest(group map[string]fixtureTensor) float64 {
	var m float64
	for _, ft := range group {
		m = math.Max(m, maxAbs(ft.Data))
	}
	return m
}

// compare checks got against want and returns the largest absolute
// difference. float64 must agree to 1e-9. float32 must agree to 1e-5 of
// want's largest magnitude, since its rounding error scales with the values;
// a tensor that is zero but for float64 rounding has no magnitude of its
// own, and is measured against floor, the largest magnitude of its group.
// The key bias is such a tensor: adding q·b_k to a whole row of scores
// leaves the softmax unchanged, so its gradient is zero, and in float32
// what remains is the rounding of the terms that cancel.
func compare(t *testing.T, what string, dt tensor.Dtype, got []float64, gotShape tensor.Shape, want fixtureTensor, floor float64) float64 {
	t.Helper()
	if !gotShape.Eq(tensor.Shape(want.Shape)) {
		t.Errorf("%s: shape %v, want %v", what, gotShape, want.Shape)
		return math.Inf(1)
	}
	var maxErr float64
	worst := 0
	for i, w := range want.Data {
		if d := math.Abs(got[i] - w); d > maxErr || math.IsNaN(d) {
			maxErr, worst = d, i
		}
	}
	tol := 1e-9
	if dt == tensor.Float32 {
		scale := maxAbs(want.Data)
		if scale <= 1e-12 {
			scale = floor
		}
		tol = 1e-5 * scale
	}
	if !(maxErr <= tol) {
		t.Errorf("%s: max |Go − PyTorch| = %.3g at [%d] (Go %.12g, PyTorch %.12g), tolerance %.3g",
			what, maxErr, worst, got[worst], want.Data[worst], tol)
	}
	return maxErr
}

func TestParity(t *testing.T) {
	runParity(t, map[string]func(*testing.T, *fixture, *nn.Graph, *rand.Rand) built{
		"attention":     buildAttention,
		"encoder_layer": buildEncoderLayer,
		"encoder":       buildEncoder,
	}, []string{
		"attention",
		"encoder_layer_post_relu",
		"encoder_layer_post_gelu",
		"encoder_layer_pre_relu",
		"encoder_layer_pre_gelu",
		"encoder",
	})
}

// runParity builds each fixture's computation in float64 and float32 and
// compares outputs, loss and every gradient with PyTorch's.
func runParity(t *testing.T, builders map[string]func(*testing.T, *fixture, *nn.Graph, *rand.Rand) built, names []string) {
	for _, name := range names {
		f := loadFixture(t, name)
		build, ok := builders[f.Kind]
		if !ok {
			t.Fatalf("%s: unknown kind %q", name, f.Kind)
		}
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%s/%v", name, dt), func(t *testing.T) {
				g, err := nn.NewGraph(dt, true)
				if err != nil {
					t.Fatal(err)
				}
				b := build(t, f, g, rand.New(rand.NewPCG(1, 2)))
				names := make([]string, 0, len(b.outputs))
				nodes := make([]*G.Node, 0, len(b.outputs))
				for n, node := range b.outputs {
					names = append(names, n)
					nodes = append(nodes, node)
				}
				prog, err := nn.Compile(g, b.loss, true, nodes...)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := prog.Close(); err != nil {
						t.Error(err)
					}
				}()
				if err := prog.Run(); err != nil {
					t.Fatal(err)
				}

				var worstOut, worstGrad float64
				for i, n := range names {
					out := prog.Output(i)
					e := compare(t, "output "+n, dt, nn.ToFloat64s(out), out.Shape(), f.tensor(t, f.Outputs, n), largest(f.Outputs))
					worstOut = math.Max(worstOut, e)
				}
				loss := f.tensor(t, f.Outputs, "loss")
				e := compare(t, "loss", dt, []float64{prog.Loss()}, tensor.Shape{1}, loss, largest(f.Outputs))
				worstOut = math.Max(worstOut, e)

				grads := prog.Grads()
				bound := g.Params()
				if len(bound) != len(f.Grads) {
					t.Errorf("graph binds %d parameters (inputs included), fixture has %d gradients", len(bound), len(f.Grads))
				}
				for i, p := range bound {
					e := compare(t, "gradient of "+p.Name(), dt, nn.ToFloat64s(grads[i]), grads[i].Shape(), f.tensor(t, f.Grads, p.Name()), largest(f.Grads))
					worstGrad = math.Max(worstGrad, e)
				}
				t.Logf("%s %v (torch %s): max |Go − PyTorch| outputs and loss %.3g, gradients %.3g",
					name, dt, f.TorchVersion, worstOut, worstGrad)
			})
		}
	}
}
