package nn_test

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// A parameter, a graph that binds it, and one forward pass of a fused op.
func ExampleLinear() {
	w, _ := nn.NewParam("proj.weight", tensor.Float64, 2, 3)
	b, _ := nn.NewParam("proj.bias", tensor.Float64, 2)
	_ = w.SetFloat64s([]float64{1, 0, 0, 0, 1, 1})
	_ = b.SetFloat64s([]float64{0.5, -0.5})

	g, _ := nn.NewGraph(tensor.Float64, false)
	x, xv, _ := g.Input("x", 1, 3)
	nn.FromFloat64s(xv, []float64{1, 2, 3})
	wn, _ := g.Param(w)
	bn, _ := g.Param(b)
	y, err := nn.Linear(x, wn, bn) // [1,3] → [1,2]
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
	fmt.Println(nn.ToFloat64s(prog.Output(0)))
	// Output: [1.5 4.5]
}

// Masked keys get exactly zero weight.
func ExampleMaskedSoftmax() {
	g, _ := nn.NewGraph(tensor.Float64, false)
	s, sv, _ := g.Input("scores", 1, 1, 3)
	nn.FromFloat64s(sv, []float64{1, 1, 5})
	keep, kv, _ := g.Input("keep", 1, 3)
	nn.FromFloat64s(kv, []float64{1, 1, 0})
	w, _ := nn.MaskedSoftmax(s, keep, 1)
	prog, _ := nn.Compile(g, nil, false, w)
	defer prog.Close()
	_ = prog.Run()
	fmt.Println(nn.ToFloat64s(prog.Output(0)))
	// Output: [0.5 0.5 0]
}
