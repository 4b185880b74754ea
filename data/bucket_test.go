package data

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func lengthsExamples(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	exs := make([]Example, n)
	for i := range exs {
		l := 1 + rng.IntN(40)
		if i == 7 {
			l = 400 // one long line
		}
		exs[i].Input = make([]int, l)
		exs[i].Target = make([]int, l)
		exs[i].Input[0] = i + 2 // distinct inputs
	}
	return exs
}

// TestBucketSource checks that a bucketed stream serves batches of similar
// lengths, so that one long example pads only its own batch, and that it
// resumes exactly from any point.
func TestBucketSource(t *testing.T) {
	const batch = 8
	exs := lengthsExamples(1000, 3)
	src, err := NewBucketSource(exs, 5, batch)
	if err != nil {
		t.Fatal(err)
	}
	var padded, plain int // tokens a batch pads to: bucketed, and in file order
	long := 0             // batches padded to the long example
	var drawn []Example
	for b := 0; b < 3*len(exs)/batch; b++ {
		m := 0
		for range batch {
			ex := src.Next()
			drawn = append(drawn, ex)
			m = max(m, len(ex.Input))
		}
		padded += m * batch
		if m == 400 {
			long++
		}
	}
	for lo := 0; lo+batch <= len(exs); lo += batch {
		m := 0
		for _, ex := range exs[lo : lo+batch] {
			m = max(m, len(ex.Input))
		}
		plain += 3 * m * batch
	}
	if long != 3 {
		t.Errorf("the long example padded %d batches in 3 epochs, want 3", long)
	}
	if padded*10 > plain*7 {
		t.Errorf("bucketed batches pad to %d tokens, file order to %d: want under 70%%", padded, plain)
	}
	// Every example is served once per epoch, windows crossing epochs aside.
	count := map[int]int{}
	for _, ex := range drawn {
		count[ex.Input[0]]++
	}
	for i := range exs {
		if c := count[i+2]; c < 2 || c > 4 {
			t.Errorf("example %d served %d times in 3 epochs", i, c)
		}
	}
	// Resume at several points, mid-window included.
	for _, at := range []int{0, 3 * batch, 16*batch + 5, 700} {
		a, _ := NewBucketSource(exs, 5, batch)
		for range at {
			a.Next()
		}
		state, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewBucketSource(exs, 5, batch)
		if err := b.UnmarshalBinary(state); err != nil {
			t.Fatalf("resume at %d: %v", at, err)
		}
		for i := range 300 {
			x, y := a.Next(), b.Next()
			if !slices.Equal(x.Input, y.Input) || !slices.Equal(x.Target, y.Target) {
				t.Fatalf("resumed at %d: example %d differs", at, i)
			}
		}
		if a.Drawn() != b.Drawn() {
			t.Errorf("resumed at %d: drawn %d, want %d", at, b.Drawn(), a.Drawn())
		}
	}
	other, _ := NewBucketSource(exs[1:], 5, batch)
	state, _ := src.MarshalBinary()
	if err := other.UnmarshalBinary(state); err == nil {
		t.Error("a state restored onto other data was accepted")
	}
	if err := other.UnmarshalBinary([]byte("qkv-lst1 and more bytes here")); err == nil {
		t.Error("a list state was accepted as a bucket state")
	}
}
