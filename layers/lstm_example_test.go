package layers_test

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// Run a 2-layer bidirectional LSTM over a batch of two sequences, of
// lengths 3 and 1, padded to 3 steps. The output concatenates both
// directions, and is zero at the padded steps.
func ExampleLSTM() {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := layers.LSTMConfig{Input: 4, Hidden: 5, Layers: 2, Bidirectional: true, Dtype: tensor.Float64}
	lstm, err := layers.NewLSTM("lstm", cfg, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lstm.Params()[4].Name(), lstm.Params()[4].Shape())

	g, _ := nn.NewGraph(tensor.Float64, false)
	x, xv, _ := g.Input("x", 2, 3, 4) // [B,T,I]
	vals := make([]float64, 2*3*4)
	for i := range vals {
		vals[i] = rng.NormFloat64()
	}
	nn.FromFloat64s(xv, vals)
	keep, kv, _ := g.Input("keep", 2, 3)
	nn.FromFloat64s(kv, []float64{1, 1, 1, 1, 0, 0})
	y, err := lstm.Forward(g, x, keep) // [B,T,2H]
	if err != nil {
		fmt.Println(err)
		return
	}
	prog, _ := nn.Compile(g, nil, false, y)
	defer prog.Close()
	if err := prog.Run(); err != nil {
		fmt.Println(err)
		return
	}
	out := nn.ToFloat64s(prog.Output(0))
	fmt.Println("output shape:", prog.Output(0).Shape())
	fmt.Println("second sequence, step 2:", out[(1*3+2)*10:][:10])
	// Output:
	// lstm.weight_ih_l0_reverse (20, 4)
	// output shape: (2, 3, 10)
	// second sequence, step 2: [0 0 0 0 0 0 0 0 0 0]
}
