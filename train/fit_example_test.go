package train_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// ExampleFit trains a model to reverse sequences of the integers 0..4 given
// in memory, then asks it to reverse one it has not necessarily seen.
func ExampleFit() {
	syms := data.Symbols(5) // symbols 0..4 as ids 2..6: ids 0 (padding) and 1 (unknown) are reserved
	rng := rand.New(rand.NewPCG(1, 2))
	var examples []data.Example
	for range 1000 {
		in := make([]int, 2+rng.IntN(5)) // 2 to 6 symbols
		for i := range in {
			in[i] = rng.IntN(5)
		}
		out := slices.Clone(in)
		slices.Reverse(out)
		ex, _ := syms.Example(in, out)
		examples = append(examples, ex)
	}
	mc := train.ModelConfig{Kind: data.Tagging, InVocab: syms.Size(), OutVocab: syms.Size(), MaxLen: 6}
	m, _ := train.NewModel(mc, rand.New(rand.NewPCG(1, 1))) // zero settings: the default transformer
	opts := train.FitOptions{Optimization: train.Optimization{Steps: 300, LR: 3e-3}}
	if _, err := train.Fit(context.Background(), m, examples, opts); err != nil {
		log.Fatal(err)
	}
	in, _ := syms.Encode([]int{3, 1, 4, 1, 2})
	pred, _ := m.Predict([][]int{in})
	fmt.Println(syms.Decode(pred[0]))
	// Output: [2 1 4 1 3]
}
