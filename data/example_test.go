package data_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/qkv-dev/qkv/data"
)

func ExampleNewTask() {
	task, err := data.NewTask("reverse", 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(7, 7))
	ex := task.Generate(rng, 6)
	fmt.Println(task.Name(), task.Kind(), task.InVocab().Tokens())
	fmt.Println(strings.Join(task.InVocab().Decode(ex.Input), " "), "→", strings.Join(task.OutVocab().Decode(ex.Target), " "))
	// Output:
	// reverse tagging [<pad> <unk> a b c d e]
	// e a d a b b → b b a d a e
}

func ExampleMakeBatch() {
	exs := []data.Example{
		{Input: []int{2, 3, 4}, Target: []int{4, 3, 2}},
		{Input: []int{5}, Target: []int{5}},
	}
	b, err := data.MakeBatch(data.Tagging, exs, 3, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Inputs, b.Lengths)
	fmt.Println(b.Targets)
	fmt.Println(b.KeyMask())
	// Output:
	// [2 3 4 0 5 0 0 0 0 0 0 0] [3 1 0]
	// [4 3 2 -1 5 -1 -1 -1 -1 -1 -1 -1]
	// [1 1 1 0 1 0 0 0 0 0 0 0]
}
