package layers_test

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// Build a multi-head attention layer, run one padded sequence through it,
// and look at the attention weights of one query: they sum to one over the
// real keys and are exactly zero on the padded one.
func ExampleMultiHeadAttention() {
	rng := rand.New(rand.NewPCG(1, 2))
	attn, err := layers.NewMultiHeadAttention("attn", layers.AttentionConfig{DModel: 8, Heads: 2, Dtype: tensor.Float64}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	g, _ := nn.NewGraph(tensor.Float64, false)
	x, xv, _ := g.Input("x", 1, 3, 8) // [B,T,D]
	vals := make([]float64, 24)
	for i := range vals {
		vals[i] = rng.NormFloat64()
	}
	nn.FromFloat64s(xv, vals)
	keep, kv, _ := g.Input("keep", 1, 3) // the third position is padding
	nn.FromFloat64s(kv, []float64{1, 1, 0})
	y, w, err := attn.Forward(g, x, keep) // [1,3,8], [1,2,3,3]
	if err != nil {
		fmt.Println(err)
		return
	}
	prog, _ := nn.Compile(g, nil, false, y, w)
	defer prog.Close()
	if err := prog.Run(); err != nil {
		fmt.Println(err)
		return
	}
	weights := nn.ToFloat64s(prog.Output(1))
	row := weights[0:3] // head 0, query 0
	fmt.Println("output shape:", prog.Output(0).Shape(), "weights shape:", prog.Output(1).Shape())
	fmt.Printf("sum over keys %.6f, weight on the padded key %v\n", row[0]+row[1]+row[2], row[2])
	// Output:
	// output shape: (1, 3, 8) weights shape: (1, 2, 3, 3)
	// sum over keys 1.000000, weight on the padded key 0
}

// The sinusoidal table of the paper: PE(pos, 2i) = sin(pos/10000^(2i/d)),
// PE(pos, 2i+1) = cos(pos/10000^(2i/d)).
func ExampleSinusoidalTable() {
	pe := layers.SinusoidalTable(2, 4) // positions 0 and 1, d = 4
	fmt.Printf("%.4f\n", pe)
	// Output: [0.0000 1.0000 0.0000 1.0000 0.8415 0.5403 0.0100 1.0000]
}
