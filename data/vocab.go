package data

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Special token IDs and targets shared by every vocabulary.
const (
	PadID = 0 // PadID fills positions past an example's length
	UnkID = 1 // UnkID stands for a token the vocabulary does not hold
	// Ignore marks a target that counts in neither loss nor accuracy. It is
	// the one home of that value: nn, which may not import data, keeps
	// nn.IgnoreTarget for its loss, and train, which feeds data's targets to
	// nn's loss, fails to compile if the two ever differ.
	Ignore = -1
)

// Special token spellings, at PadID and UnkID in every vocabulary.
const (
	PadToken = "<pad>"
	UnkToken = "<unk>"
)

// Vocab is an ordered token list and its index. Index 0 is always PadToken
// and 1 is UnkToken. A Vocab is immutable after construction.
type Vocab struct {
	tokens []string
	index  map[string]int
}

// NewVocab returns a vocabulary of PadToken, UnkToken and then tokens in
// order. A repeated, reserved, empty or whitespace-holding token is an error.
func NewVocab(tokens []string) (*Vocab, error) {
	all := make([]string, 0, len(tokens)+2)
	all = append(all, PadToken, UnkToken)
	return VocabFromTokens(append(all, tokens...))
}

// VocabFromTokens rebuilds a vocabulary from the full list that Tokens
// returned, specials included, as when loading a checkpoint.
func VocabFromTokens(all []string) (*Vocab, error) {
	if len(all) < 2 || all[0] != PadToken || all[1] != UnkToken {
		return nil, fmt.Errorf("data: vocabulary must start with %q, %q", PadToken, UnkToken)
	}
	v := &Vocab{tokens: slices.Clone(all), index: make(map[string]int, len(all))}
	for i, tok := range all {
		switch {
		case tok == "":
			return nil, fmt.Errorf("data: vocabulary token %d is empty", i)
		case strings.IndexFunc(tok, unicode.IsSpace) >= 0:
			return nil, fmt.Errorf("data: vocabulary token %q holds whitespace", tok)
		case i >= 2 && (tok == PadToken || tok == UnkToken):
			return nil, fmt.Errorf("data: vocabulary token %q is reserved", tok)
		}
		if j, dup := v.index[tok]; dup {
			return nil, fmt.Errorf("data: vocabulary token %q at %d repeats %d", tok, i, j)
		}
		v.index[tok] = i
	}
	return v, nil
}

// Size returns the number of tokens, specials included.
func (v *Vocab) Size() int { return len(v.tokens) }

// Token returns the spelling of id, or UnkToken for an id out of range
// (Ignore included).
func (v *Vocab) Token(id int) string {
	if id < 0 || id >= len(v.tokens) {
		return UnkToken
	}
	return v.tokens[id]
}

// ID returns the index of tok, or UnkID and false when tok is not held.
func (v *Vocab) ID(tok string) (id int, known bool) {
	id, known = v.index[tok]
	if !known {
		return UnkID, false
	}
	return id, true
}

// Tokens returns a copy of the full token list, specials included, for
// saving; VocabFromTokens reads it back.
func (v *Vocab) Tokens() []string { return slices.Clone(v.tokens) }

// Encode maps toks to IDs, UnkID for each token not held, and counts those.
func (v *Vocab) Encode(toks []string) (ids []int, unknown int) {
	ids = make([]int, len(toks))
	for i, tok := range toks {
		id, known := v.ID(tok)
		if !known {
			unknown++
		}
		ids[i] = id
	}
	return ids, unknown
}

// Decode maps ids to their spellings as Token does.
func (v *Vocab) Decode(ids []int) []string {
	toks := make([]string, len(ids))
	for i, id := range ids {
		toks[i] = v.Token(id)
	}
	return toks
}
