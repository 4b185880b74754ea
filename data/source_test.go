package data

import (
	"slices"
	"testing"
)

func sameExample(a, b Example) bool {
	return slices.Equal(a.Input, b.Input) && slices.Equal(a.Target, b.Target)
}

// checkResume draws skip examples from a, saves it, draws more, and checks
// that b restored from the state continues identically.
func checkResume(t *testing.T, what string, a, b Source, skip int) {
	t.Helper()
	for range skip {
		a.Next()
	}
	state, err := a.MarshalBinary()
	if err != nil {
		t.Fatalf("%s: MarshalBinary: %v", what, err)
	}
	if err := b.UnmarshalBinary(state); err != nil {
		t.Fatalf("%s: UnmarshalBinary: %v", what, err)
	}
	if a.Drawn() != b.Drawn() || a.Drawn() != int64(skip) {
		t.Fatalf("%s: Drawn() = %d and %d, want %d", what, a.Drawn(), b.Drawn(), skip)
	}
	for i := range 50 {
		if x, y := a.Next(), b.Next(); !sameExample(x, y) {
			t.Fatalf("%s after %d: example %d differs: %v vs %v", what, skip, i, x, y)
		}
	}
}

func TestGenSourceResume(t *testing.T) {
	s := mustSplits(t, "copy", 2, SplitConfig{Seed: 1, MinLen: 3, MaxLen: 6, Val: 20, Test: 20})
	for _, skip := range []int{0, 1, 37, 500} {
		checkResume(t, "generated", s.Train(5), s.Train(123), skip)
	}
	// Same seed, same stream; different seed, different stream.
	a, b, c := s.Train(5), s.Train(5), s.Train(6)
	differ := false
	for range 20 {
		x, y, z := a.Next(), b.Next(), c.Next()
		if !sameExample(x, y) {
			t.Fatal("Train(5) twice gave different streams")
		}
		differ = differ || !sameExample(x, z)
	}
	if !differ {
		t.Error("Train(5) and Train(6) gave the same stream")
	}
}

func TestListSourceResume(t *testing.T) {
	exs := make([]Example, 7)
	for i := range exs {
		exs[i] = Example{Input: []int{2 + i, 3}, Target: []int{2}}
	}
	for _, skip := range []int{0, 3, 7, 14, 20} {
		checkResume(t, "list", NewListSource(exs, 9), NewListSource(exs, 1), skip)
	}
	// Each epoch serves every example once.
	src := NewListSource(exs, 4)
	for epoch := range 3 {
		seen := map[int]bool{}
		for range exs {
			seen[src.Next().Input[0]] = true
		}
		if len(seen) != len(exs) {
			t.Errorf("epoch %d served %d distinct of %d", epoch, len(seen), len(exs))
		}
	}
}

func TestSourceStateMismatch(t *testing.T) {
	s1 := mustSplits(t, "copy", 3, SplitConfig{Seed: 1, MinLen: 3, MaxLen: 6, Val: 10})
	s2 := mustSplits(t, "copy", 3, SplitConfig{Seed: 2, MinLen: 3, MaxLen: 6, Val: 10})
	list := []Example{{Input: []int{2}, Target: []int{2}}}
	genState, _ := s1.Train(1).MarshalBinary()
	listState, _ := NewListSource(list, 1).MarshalBinary()
	tests := []struct {
		what  string
		src   Source
		state []byte
	}{
		{"other splits", s2.Train(1), genState},
		{"list state into generated", s1.Train(1), listState},
		{"other list", NewListSource(append(list, list[0]), 1), listState},
		{"truncated", s1.Train(1), genState[:12]},
		{"bad generator", s1.Train(1), genState[:len(genState)-1]},
		{"empty", NewListSource(list, 1), nil},
	}
	for _, tt := range tests {
		if err := tt.src.UnmarshalBinary(tt.state); err == nil {
			t.Errorf("%s: UnmarshalBinary succeeded, want error", tt.what)
		}
	}
}
