package data

import (
	"slices"
	"testing"
)

// TestSymbols: symbols sit after the reserved ids, round-trip through
// Encode and Decode, are refused outside 0..n−1 on both sides, and spell
// as their vocabulary does.
func TestSymbols(t *testing.T) {
	s := Symbols(3)
	if FirstID != 2 || s.Size() != 5 {
		t.Fatalf("FirstID %d, Size %d; want 2, 5", FirstID, s.Size())
	}
	ids, err := s.Encode([]int{0, 2, 1})
	if err != nil || !slices.Equal(ids, []int{2, 4, 3}) {
		t.Errorf("Encode = %v, %v; want [2 4 3]", ids, err)
	}
	if got := s.Decode([]int{2, 4, 3, PadID, UnkID, 5}); !slices.Equal(got, []int{0, 2, 1, -1, -1, -1}) {
		t.Errorf("Decode = %v, want [0 2 1 -1 -1 -1]", got)
	}
	for _, sym := range []int{-1, 3} {
		if _, err := s.ID(sym); err == nil {
			t.Errorf("ID(%d) = nil error, want one", sym)
		}
	}
	if _, err := s.Example([]int{0, 1}, []int{1, 3}); err == nil {
		t.Error("Example with target symbol 3 of 3: nil error")
	}
	v := s.Vocab()
	if v.Size() != s.Size() || v.Token(2) != "0" || v.Token(4) != "2" || v.Token(PadID) != PadToken {
		t.Errorf("Vocab tokens %v", v.Tokens())
	}
	if id, ok := v.ID("1"); !ok || id != 3 {
		t.Errorf(`Vocab ID("1") = %d, %v; want 3`, id, ok)
	}
}
