package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// Sizes of the LSTM tests: a batch of lengths 3, 4 and 1 padded to T = 4.
const lB, lT, lI, lH = 3, 4, 3, 3

var lstmLengths = []int{3, 4, 1}

// lengthMask returns the [B, T] keep mask of right-padded sequences.
func lengthMask(lengths []int, n int) []float64 {
	keep := make([]float64, len(lengths)*n)
	for b, l := range lengths {
		for t := 0; t < l; t++ {
			keep[b*n+t] = 1
		}
	}
	return keep
}

// TestLSTMGradients checks the gradient of Σ r⊙y with respect to every
// weight and the input, over a padded batch, by finite differences.
func TestLSTMGradients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers int
		bidi   bool
		drop   float64
	}{
		{"SingleLayer", 1, false, 0},
		{"TwoLayers", 2, false, 0},
		{"Bidirectional", 1, true, 0},
		{"TwoLayersBidirectional", 2, true, 0},
		{"TwoLayersBidirectionalDropout", 2, true, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := newRand(13)
			cfg := LSTMConfig{Input: lI, Hidden: lH, Layers: tc.layers, Bidirectional: tc.bidi, Dropout: tc.drop, Dtype: tensor.Float64}
			l, err := NewLSTM("lstm", cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			perturb(t, l, rng)
			x := input(t, rng, lB, lT, lI)
			build := func(g *nn.Graph) (*G.Node, error) {
				xn, err := g.Param(x)
				if err != nil {
					return nil, err
				}
				keep, err := feed(g, "keep", lengthMask(lstmLengths, lT), lB, lT)
				if err != nil {
					return nil, err
				}
				y, err := l.Forward(g, xn, keep)
				if err != nil {
					return nil, err
				}
				return nn.WeightedSum(g, "r", y, newRand(42))
			}
			var prepare func(g *nn.Graph)
			if tc.drop > 0 {
				prepare = func(g *nn.Graph) { g.SampleDropout(newRand(5)) }
			}
			gradCheck(t, build, prepare)
		})
	}
}

// runLSTM runs l over x [B, T, I] with the given lengths in an evaluation
// graph and returns y [B, T, H·dirs].
func runLSTM(t *testing.T, l *LSTM, dt tensor.Dtype, x []float64, lengths []int, n int) []float64 {
	t.Helper()
	g, err := nn.NewGraph(dt, false)
	if err != nil {
		t.Fatal(err)
	}
	b := len(lengths)
	xn, err := feed(g, "x", x, b, n, l.Config().Input)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := feed(g, "keep", lengthMask(lengths, n), b, n)
	if err != nil {
		t.Fatal(err)
	}
	y, err := l.Forward(g, xn, keep)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g, nil, false, y)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	return nn.ToFloat64s(prog.Output(0))
}

// TestLSTMPaddingLeavesStateUnchanged: appending padded steps (holding
// arbitrary values) to a batch changes nothing in the outputs of the real
// steps, in either direction, and the padded outputs are zero; and each
// sequence of the padded batch gives what it gives run alone, unpadded.
func TestLSTMPaddingLeavesStateUnchanged(t *testing.T) {
	const extra = 3
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			rng := newRand(17)
			cfg := LSTMConfig{Input: lI, Hidden: lH, Layers: 2, Bidirectional: true, Dtype: dt}
			l, err := NewLSTM("lstm", cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			d := 2 * lH
			n := lT + extra
			long := make([]float64, lB*n*lI)
			for i := range long {
				long[i] = 3 * rng.NormFloat64() // padding too: it must be ignored
			}
			short := make([]float64, 0, lB*lT*lI)
			for b := 0; b < lB; b++ {
				short = append(short, long[b*n*lI:][:lT*lI]...)
			}
			yLong := runLSTM(t, l, dt, long, lstmLengths, n)
			yShort := runLSTM(t, l, dt, short, lstmLengths, lT)
			for b, length := range lstmLengths {
				alone := runLSTM(t, l, dt, long[b*n*lI:][:length*lI], []int{length}, length)
				for s := 0; s < n; s++ {
					for j := 0; j < d; j++ {
						got := yLong[(b*n+s)*d+j]
						if s >= length {
							if got != 0 {
								t.Errorf("y[%d,%d,%d] = %v at a padded step, want 0", b, s, j, got)
							}
							continue
						}
						if want := yShort[(b*lT+s)*d+j]; got != want {
							t.Errorf("y[%d,%d,%d] = %v with %d more padded steps, %v without", b, s, j, got, extra, want)
						}
						if want := alone[s*d+j]; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
							t.Errorf("y[%d,%d,%d] = %v in the batch, %v alone", b, s, j, got, want)
						}
					}
				}
			}
		})
	}
}

// TestLSTMRepeatedRuns: one compiled training graph, run again on the same
// inputs and dropout masks, gives the same loss and gradients; the tape
// machine reuses memory in place and nothing may accumulate.
func TestLSTMRepeatedRuns(t *testing.T) {
	rng := newRand(19)
	l, err := NewLSTM("lstm", LSTMConfig{Input: lI, Hidden: lH, Layers: 2, Bidirectional: true, Dropout: 0.2, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := input(t, rng, lB, lT, lI)
	g, _ := nn.NewGraph(tensor.Float64, true)
	xn, _ := g.Param(x)
	keep, err := feed(g, "keep", lengthMask(lstmLengths, lT), lB, lT)
	if err != nil {
		t.Fatal(err)
	}
	y, err := l.Forward(g, xn, keep)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := nn.WeightedSum(g, "r", y, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g, loss, true)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	g.SampleDropout(newRand(2))
	var first []string
	for run := 0; run < 3; run++ {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		got := []string{fmt.Sprint(prog.Loss())}
		for _, gr := range prog.Grads() {
			got = append(got, fmt.Sprint(nn.ToFloat64s(gr)))
		}
		if run == 0 {
			first = got
			continue
		}
		for i := range got {
			if got[i] != first[i] {
				t.Fatalf("run %d: result %d differs from the first run's:\n%s\n%s", run, i, got[i], first[i])
			}
		}
	}
}

// TestLSTMParams: PyTorch's names, order and shapes, every value within
// PyTorch's U(−1/√H, 1/√H), and a deterministic draw from the generator.
func TestLSTMParams(t *testing.T) {
	cfg := LSTMConfig{Input: 5, Hidden: 4, Layers: 2, Bidirectional: true, Dtype: tensor.Float32}
	l, err := NewLSTM("rnn", cfg, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range l.Params() {
		got = append(got, fmt.Sprintf("%s%v", p.Name(), []int(p.Shape())))
		for i, v := range p.Float64s() {
			if math.Abs(v) > 0.5 {
				t.Errorf("%s[%d] = %v outside U(−1/√4, 1/√4)", p.Name(), i, v)
			}
		}
	}
	want := []string{
		"rnn.weight_ih_l0[16 5]", "rnn.weight_hh_l0[16 4]", "rnn.bias_ih_l0[16]", "rnn.bias_hh_l0[16]",
		"rnn.weight_ih_l0_reverse[16 5]", "rnn.weight_hh_l0_reverse[16 4]", "rnn.bias_ih_l0_reverse[16]", "rnn.bias_hh_l0_reverse[16]",
		"rnn.weight_ih_l1[16 8]", "rnn.weight_hh_l1[16 4]", "rnn.bias_ih_l1[16]", "rnn.bias_hh_l1[16]",
		"rnn.weight_ih_l1_reverse[16 8]", "rnn.weight_hh_l1_reverse[16 4]", "rnn.bias_ih_l1_reverse[16]", "rnn.bias_hh_l1_reverse[16]",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("parameters\n%v\nwant (torch.nn.LSTM(5, 4, 2, bidirectional=True).named_parameters())\n%v", got, want)
	}
	if err := nn.CheckUnique(l); err != nil {
		t.Error(err)
	}
	again, _ := NewLSTM("rnn", cfg, newRand(1))
	for i, p := range again.Params() {
		if a, b := p.Float64s(), l.Params()[i].Float64s(); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s differs between two draws from the same seed", p.Name())
		}
	}
}

func TestLSTMRejects(t *testing.T) {
	ok := LSTMConfig{Input: 3, Hidden: 4, Layers: 1, Dtype: tensor.Float32}
	for _, tc := range []struct {
		name string
		mod  func(*LSTMConfig)
		want string
	}{
		{"zero hidden", func(c *LSTMConfig) { c.Hidden = 0 }, "must be positive"},
		{"negative input", func(c *LSTMConfig) { c.Input = -1 }, "must be positive"},
		{"zero layers", func(c *LSTMConfig) { c.Layers = 0 }, "layers must be positive"},
		{"dropout 1", func(c *LSTMConfig) { c.Dropout = 1 }, "dropout"},
		{"integer dtype", func(c *LSTMConfig) { c.Dtype = tensor.Int }, "dtype"},
	} {
		c := ok
		tc.mod(&c)
		_, err := NewLSTM("lstm", c, newRand(1))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `lstm "lstm"`) {
			t.Errorf("%s: error %v, want one naming the layer and containing %q", tc.name, err, tc.want)
		}
	}

	l, err := NewLSTM("lstm", ok, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := nn.NewGraph(tensor.Float32, false)
	x, _, _ := g.Input("x", 2, 5, 4) // I = 4, not 3
	keep, _, _ := g.Input("keep", 2, 5)
	if _, err := l.Forward(g, x, keep); err == nil || !strings.Contains(err.Error(), "[B,T,3]") {
		t.Errorf("Forward on a [2,5,4] input: error %v, want one asking for [B,T,3]", err)
	}
	short, _, _ := g.Input("short", 2, 4)
	x3, _, _ := g.Input("x3", 2, 5, 3)
	if _, err := l.Forward(g, x3, short); err == nil {
		t.Error("Forward with a [2,4] mask on a [2,5,3] input: no error")
	}
}

// BenchmarkLSTM times one training step (forward and backward) of a
// 2-layer bidirectional LSTM, B = 32, T = 32, I = H = 64, in float32.
func BenchmarkLSTM(b *testing.B) {
	const bb, n, d = 32, 32, 64
	rng := newRand(1)
	l, err := NewLSTM("lstm", LSTMConfig{Input: d, Hidden: d, Layers: 2, Bidirectional: true, Dtype: tensor.Float32}, rng)
	if err != nil {
		b.Fatal(err)
	}
	g, _ := nn.NewGraph(tensor.Float32, true)
	x, xv, _ := g.Input("x", bb, n, d)
	vals := make([]float64, bb*n*d)
	for i := range vals {
		vals[i] = rng.NormFloat64()
	}
	nn.FromFloat64s(xv, vals)
	lengths := make([]int, bb)
	for i := range lengths {
		lengths[i] = n/2 + rand.IntN(n/2+1)
	}
	keep, kv, _ := g.Input("keep", bb, n)
	nn.FromFloat64s(kv, lengthMask(lengths, n))
	y, err := l.Forward(g, x, keep)
	if err != nil {
		b.Fatal(err)
	}
	loss, err := nn.WeightedSum(g, "r", y, newRand(2))
	if err != nil {
		b.Fatal(err)
	}
	prog, err := nn.Compile(g, loss, true)
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := prog.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*bb*n)/b.Elapsed().Seconds(), "tokens/s")
}
