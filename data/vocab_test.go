package data

import (
	"slices"
	"strings"
	"testing"
)

func TestNewVocab(t *testing.T) {
	tests := []struct {
		tokens  []string
		wantErr string // "" for success
	}{
		{[]string{"a", "b"}, ""},
		{nil, ""},
		{[]string{"a", "a"}, `"a" at 3 repeats 2`},
		{[]string{"<pad>"}, "reserved"},
		{[]string{"<unk>"}, "reserved"},
		{[]string{""}, "empty"},
		{[]string{"a b"}, "whitespace"},
	}
	for _, tt := range tests {
		v, err := NewVocab(tt.tokens)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewVocab(%q) error = %v, want one containing %q", tt.tokens, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewVocab(%q): %v", tt.tokens, err)
			continue
		}
		if got, want := v.Size(), len(tt.tokens)+2; got != want {
			t.Errorf("NewVocab(%q).Size() = %d, want %d", tt.tokens, got, want)
		}
		if v.Token(PadID) != PadToken || v.Token(UnkID) != UnkToken {
			t.Errorf("NewVocab(%q) specials = %q, %q", tt.tokens, v.Token(PadID), v.Token(UnkID))
		}
	}
}

func TestVocabEncodeDecode(t *testing.T) {
	v, err := NewVocab([]string{"x", "y", "z"})
	if err != nil {
		t.Fatal(err)
	}
	ids, unknown := v.Encode([]string{"z", "q", "x", "<unk>"})
	if want := []int{4, UnkID, 2, UnkID}; !slices.Equal(ids, want) || unknown != 1 {
		t.Errorf("Encode = %v, %d unknown; want %v, 1", ids, unknown, want)
	}
	if got, want := v.Decode([]int{2, 3, 4, 99, Ignore}), []string{"x", "y", "z", UnkToken, UnkToken}; !slices.Equal(got, want) {
		t.Errorf("Decode = %q, want %q", got, want)
	}
	if id, known := v.ID("y"); id != 3 || !known {
		t.Errorf("ID(y) = %d, %v; want 3, true", id, known)
	}
	if id, known := v.ID("nope"); id != UnkID || known {
		t.Errorf("ID(nope) = %d, %v; want %d, false", id, known, UnkID)
	}
}

func TestVocabFromTokens(t *testing.T) {
	v, _ := NewVocab([]string{"a", "b"})
	w, err := VocabFromTokens(v.Tokens())
	if err != nil || !slices.Equal(w.Tokens(), v.Tokens()) {
		t.Fatalf("VocabFromTokens(Tokens()) = %v, %v", w, err)
	}
	for _, bad := range [][]string{nil, {"a", "b"}, {"<unk>", "<pad>"}, {"<pad>", "<unk>", "a", "a"}} {
		if _, err := VocabFromTokens(bad); err == nil {
			t.Errorf("VocabFromTokens(%q) succeeded, want error", bad)
		}
	}
	toks := v.Tokens()
	toks[2] = "changed"
	if v.Token(2) != "a" {
		t.Error("Tokens returned the vocabulary's own slice")
	}
}
