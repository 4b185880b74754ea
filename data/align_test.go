package data

import (
	"math/rand/v2"
	"testing"
)

// TestAlignerRules: for every task with an alignment rule, on generated
// examples of many lengths, every counted target equals the input token at
// SourceOf (for recall, the value token, spelled in the out vocabulary),
// SourceOf is −1 exactly where the target is Ignore, and no aligner claims
// a source outside the example.
func TestAlignerRules(t *testing.T) {
	tasks := []string{"copy", "reverse", "recall", "lag", "lag1", "lag9"}
	for _, name := range tasks {
		task, err := NewTask(name, 6)
		if err != nil {
			t.Fatal(err)
		}
		a, ok := AlignerOf(task)
		if !ok {
			t.Fatalf("AlignerOf(%s) = false", name)
		}
		rng := rand.New(rand.NewPCG(11, 3))
		for n := task.MinLength(); n <= 30; n++ {
			for range 20 {
				ex := task.Generate(rng, n)
				for i, tgt := range ex.Target {
					src := a.SourceOf(ex, i)
					if tgt == Ignore {
						if src != -1 {
							t.Fatalf("%s: %v: SourceOf(%d) = %d at an Ignore target", name, ex.Input, i, src)
						}
						continue
					}
					if src < 0 || src >= n {
						t.Fatalf("%s: %v: SourceOf(%d) = %d, outside the example", name, ex.Input, i, src)
					}
					got := task.InVocab().Token(ex.Input[src])
					if want := task.OutVocab().Token(tgt); got != want {
						t.Fatalf("%s: input %v: target %d is %q, but SourceOf gives position %d holding %q",
							name, task.InVocab().Decode(ex.Input), i, want, src, got)
					}
				}
				for _, i := range []int{-1, n, n + 5} {
					if src := a.SourceOf(ex, i); src != -1 {
						t.Fatalf("%s: SourceOf(%d) outside a length-%d example = %d, want -1", name, i, n, src)
					}
				}
			}
		}
	}
}

// TestAlignerSourceIsUnique: the token check above passes for any position
// holding the same token; these cases pin the position itself, where
// repeated tokens would let a wrong rule through.
func TestAlignerSourceIsUnique(t *testing.T) {
	rev, _ := NewTask("reverse", 3)
	rec, _ := NewTask("recall", 3)
	lag, _ := NewLag(2, 3)
	// recall over 3 keys a b c (IDs 2..4) and values 0 1 2 (IDs 5..7),
	// filler 8: "a 1 b 1 . . b" → the value after b, position 3, though
	// position 1 holds the same value.
	recallEx := Example{Input: []int{2, 6, 3, 6, 8, 8, 3}}
	cases := []struct {
		what string
		a    Task
		ex   Example
		i    int
		want int
	}{
		{"reverse, all equal", rev, Example{Input: []int{2, 2, 2, 2, 2}}, 1, 3},
		{"reverse, middle", rev, Example{Input: []int{2, 3, 4}}, 1, 1},
		{"recall, repeated value", rec, recallEx, 6, 3},
		{"recall, not the query", rec, recallEx, 3, -1},
		{"recall, no matching key", rec, Example{Input: []int{2, 6, 3, 6, 4}}, 4, -1},
		{"lag 2", lag, Example{Input: []int{2, 2, 2, 2}}, 3, 1},
		{"lag 2, too early", lag, Example{Input: []int{2, 2, 2, 2}}, 1, -1},
	}
	for _, c := range cases {
		a, _ := AlignerOf(c.a)
		if got := a.SourceOf(c.ex, c.i); got != c.want {
			t.Errorf("%s: SourceOf(%v, %d) = %d, want %d", c.what, c.ex.Input, c.i, got, c.want)
		}
	}
	for _, name := range []string{"sort", "histogram", "runparity", "parity", "dyck"} {
		task, _ := NewTask(name, 4)
		if _, ok := AlignerOf(task); ok {
			t.Errorf("AlignerOf(%s) = true; its targets have no single source", name)
		}
	}
}
