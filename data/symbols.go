package data

import (
	"fmt"
	"strconv"
)

// FirstID is the first id of a content token: every id below it is
// reserved (PadID, UnkID) in every vocabulary.
const FirstID = max(PadID, UnkID) + 1

// Symbols is a vocabulary of n content symbols, the integers 0..n−1, for
// data that is numbers already: symbol s has id FirstID+s, after the
// reserved ids. Use it to turn in-memory sequences into the ids a model
// reads (Encode, Example) and a model's ids back into symbols (Decode).
type Symbols int

// Size is the number of ids, reserved ones included: a model's
// vocabulary size (ModelConfig.InVocab, OutVocab).
func (s Symbols) Size() int { return FirstID + int(s) }

// ID returns the id of symbol sym, or an error if sym is not in 0..n−1.
func (s Symbols) ID(sym int) (int, error) {
	if sym < 0 || sym >= int(s) {
		return 0, fmt.Errorf("data: symbol %d outside 0..%d", sym, int(s)-1)
	}
	return FirstID + sym, nil
}

// Encode maps symbols to ids; a symbol outside 0..n−1 is an error.
func (s Symbols) Encode(syms []int) ([]int, error) {
	ids := make([]int, len(syms))
	for i, sym := range syms {
		id, err := s.ID(sym)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// Decode maps ids to symbols; a reserved or out-of-range id (a model
// never predicts one: see train.BestToken) gives −1.
func (s Symbols) Decode(ids []int) []int {
	syms := make([]int, len(ids))
	for i, id := range ids {
		syms[i] = id - FirstID
		if id < FirstID || id >= s.Size() {
			syms[i] = -1
		}
	}
	return syms
}

// Example encodes an input and a target sequence of symbols as an
// Example of ids.
func (s Symbols) Example(input, target []int) (Example, error) {
	in, err := s.Encode(input)
	if err != nil {
		return Example{}, fmt.Errorf("data: input: %w", err)
	}
	out, err := s.Encode(target)
	if err != nil {
		return Example{}, fmt.Errorf("data: target: %w", err)
	}
	return Example{Input: in, Target: out}, nil
}

// Vocab returns the vocabulary of the symbols spelt as decimals: "0",
// "1", … at ids FirstID, FirstID+1, ….
func (s Symbols) Vocab() *Vocab {
	v := &Vocab{tokens: []string{PadToken, UnkToken}, index: map[string]int{PadToken: PadID, UnkToken: UnkID}}
	for i := range int(s) {
		tok := strconv.Itoa(i)
		v.index[tok] = len(v.tokens)
		v.tokens = append(v.tokens, tok)
	}
	return v
}
