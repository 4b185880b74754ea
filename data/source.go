package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// Source is an endless, resumable stream of training examples. A Source is
// not safe for concurrent use.
type Source interface {
	Next() Example
	// MarshalBinary returns the full state: generator and examples drawn.
	MarshalBinary() ([]byte, error)
	// UnmarshalBinary restores a state; the stream then continues exactly
	// as the marshalled one would have.
	UnmarshalBinary([]byte) error
	Drawn() int64 // examples drawn so far
}

// Both sources also have NextInto(*Example), which reuses the example's
// slices; Batch.FillFrom relies on it to avoid allocating.
var (
	_ Source                          = (*genSource)(nil)
	_ Source                          = (*listSource)(nil)
	_ interface{ NextInto(*Example) } = (*genSource)(nil)
	_ interface{ NextInto(*Example) } = (*listSource)(nil)
)

const (
	genMagic  = "qkv-gen1"
	listMagic = "qkv-lst1"
)

// genSource streams a generated task, rejecting held-out inputs.
type genSource struct {
	splits *Splits
	pcg    *rand.PCG
	rng    *rand.Rand // over pcg, which holds all its state
	drawn  int64
	key    []byte
}

func (s *genSource) Next() Example {
	var ex Example
	s.NextInto(&ex)
	return ex
}

// NextInto writes the next example into ex, reusing its slices. It panics
// if maxRejects draws in a row are all held out, which NewSplits's probe
// makes practically impossible.
func (s *genSource) NextInto(ex *Example) {
	cfg := s.splits.cfg
	for tries := 0; ; tries++ {
		if tries == maxRejects {
			panic(fmt.Sprintf("data: %s: %d training draws in a row were held out", s.splits.task.Name(), tries))
		}
		generateInto(s.splits.task, s.rng, cfg.MinLen+s.rng.IntN(cfg.MaxLen-cfg.MinLen+1), ex)
		s.key = appendKey(s.key[:0], ex.Input)
		if _, held := s.splits.held[string(s.key)]; !held {
			break
		}
	}
	s.drawn++
}

func (s *genSource) Drawn() int64 { return s.drawn }

func (s *genSource) MarshalBinary() ([]byte, error) {
	gen, err := s.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("data: source state: %w", err)
	}
	return marshalState(genMagic, s.splits.fingerprint, s.drawn, gen), nil
}

func (s *genSource) UnmarshalBinary(b []byte) error {
	drawn, rest, err := unmarshalState(b, genMagic, s.splits.fingerprint)
	if err != nil {
		return err
	}
	if err := s.pcg.UnmarshalBinary(rest); err != nil {
		return fmt.Errorf("data: source state: %w", err)
	}
	s.drawn = drawn
	return nil
}

// listSource serves epochs of seeded shuffles over a fixed list.
type listSource struct {
	examples    []Example
	perm        []int
	pcg         *rand.PCG
	rng         *rand.Rand
	epochState  []byte // pcg state before the shuffle that made perm
	drawn       int64
	fingerprint uint64
}

// NewListSource returns a Source that serves examples in a fresh seeded
// shuffle each epoch. Its state holds the generator and the count drawn,
// not the list: restore it onto a source over the same list (checked by
// fingerprint). Over an empty list Next returns empty examples, which
// MakeBatch and FillFrom reject.
func NewListSource(examples []Example, seed uint64) Source {
	h := fnv.New64a()
	var key []byte
	for _, ex := range examples {
		key = appendKey(appendKey(key[:0], ex.Input), ex.Target)
		key = binary.AppendUvarint(key, uint64(len(ex.Input)))
		h.Write(key)
	}
	pcg := rand.NewPCG(seed, streamList)
	s := &listSource{examples: examples, perm: make([]int, len(examples)), pcg: pcg, rng: rand.New(pcg), fingerprint: h.Sum64()}
	s.shuffle()
	return s
}

// shuffle starts an epoch: the order depends only on the generator state,
// which is saved first so that a restored source can redo the shuffle.
func (s *listSource) shuffle() {
	s.epochState, _ = s.pcg.AppendBinary(s.epochState[:0]) // never fails
	for i := range s.perm {
		s.perm[i] = i
	}
	s.rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
}

func (s *listSource) Next() Example {
	var ex Example
	s.NextInto(&ex)
	return ex
}

// NextInto copies the next example into ex, reusing its slices.
func (s *listSource) NextInto(ex *Example) {
	n := int64(len(s.examples))
	if n == 0 {
		ex.Input, ex.Target = ex.Input[:0], ex.Target[:0]
		s.drawn++
		return
	}
	pos := s.drawn % n
	if pos == 0 && s.drawn > 0 {
		s.shuffle()
	}
	src := s.examples[s.perm[pos]]
	ex.Input = append(ex.Input[:0], src.Input...)
	ex.Target = append(ex.Target[:0], src.Target...)
	s.drawn++
}

func (s *listSource) Drawn() int64 { return s.drawn }

func (s *listSource) MarshalBinary() ([]byte, error) {
	return marshalState(listMagic, s.fingerprint, s.drawn, s.epochState), nil
}

func (s *listSource) UnmarshalBinary(b []byte) error {
	drawn, rest, err := unmarshalState(b, listMagic, s.fingerprint)
	if err != nil {
		return err
	}
	if err := s.pcg.UnmarshalBinary(rest); err != nil {
		return fmt.Errorf("data: source state: %w", err)
	}
	s.shuffle()
	s.drawn = drawn
	return nil
}

// marshalState lays out a source state: magic, fingerprint of the data,
// examples drawn, then the generator state gen.
func marshalState(magic string, fingerprint uint64, drawn int64, gen []byte) []byte {
	b := binary.BigEndian.AppendUint64([]byte(magic), fingerprint)
	b = binary.BigEndian.AppendUint64(b, uint64(drawn))
	return append(b, gen...)
}

// unmarshalState checks the header written by marshalState and returns the
// count drawn and the generator state after it.
func unmarshalState(b []byte, magic string, fingerprint uint64) (drawn int64, rest []byte, err error) {
	if len(b) < len(magic)+16 || string(b[:len(magic)]) != magic {
		return 0, nil, errors.New("data: source state: not a " + magic + " state")
	}
	b = b[len(magic):]
	if got := binary.BigEndian.Uint64(b); got != fingerprint {
		return 0, nil, fmt.Errorf("data: source state: fingerprint %016x, want %016x: saved from different data", got, fingerprint)
	}
	drawn = int64(binary.BigEndian.Uint64(b[8:]))
	if drawn < 0 {
		return 0, nil, fmt.Errorf("data: source state: negative count %d", drawn)
	}
	return drawn, b[16:], nil
}
