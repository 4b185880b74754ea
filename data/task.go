package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Kind says what a task's targets are.
type Kind int

// The kinds of task. The zero Kind is invalid, so a forgotten field shows.
const (
	Tagging        Kind = iota + 1 // one target per input position
	Classification                 // one label per sequence
)

// String returns "tagging" or "classification".
func (k Kind) String() string {
	switch k {
	case Tagging:
		return "tagging"
	case Classification:
		return "classification"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind is the inverse of String.
func ParseKind(s string) (Kind, error) {
	for _, k := range []Kind{Tagging, Classification} {
		if s == k.String() {
			return k, nil
		}
	}
	return 0, fmt.Errorf("data: unknown kind %q (valid: tagging, classification)", s)
}

// MarshalText writes the kind as String does, so configs hold "tagging".
func (k Kind) MarshalText() ([]byte, error) {
	if k != Tagging && k != Classification {
		return nil, fmt.Errorf("data: invalid kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads what MarshalText wrote.
func (k *Kind) UnmarshalText(b []byte) error {
	parsed, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Example is one input sequence and its targets, as IDs into the task's
// InVocab and OutVocab. For Tagging, len(Target) == len(Input) and entries
// may be Ignore; for Classification, len(Target) == 1.
type Example struct {
	Input  []int // token ids, none of them PadID
	Target []int // one id per input position (tagging) or one label (classification); Ignore counts nowhere
}

// Clone returns a deep copy of e.
func (e Example) Clone() Example {
	return Example{Input: slices.Clone(e.Input), Target: slices.Clone(e.Target)}
}

// Task generates examples of one synthetic problem.
type Task interface {
	Name() string
	Kind() Kind
	InVocab() *Vocab  // input tokens
	OutVocab() *Vocab // target tokens, or labels for Classification
	// Generate returns one example of exactly length input tokens, drawing
	// only from rng. It panics if length < MinLength().
	Generate(rng *rand.Rand, length int) Example
	MinLength() int // smallest length the task can make
}

// Limits of NewTask's symbols and of the histogram task.
const (
	MaxSymbols        = 10000 // largest symbols NewTask accepts
	HistogramMaxCount = 64    // largest count the histogram task's out vocabulary spells
)

// firstSymbol is the ID of the first content token in every task vocabulary.
const firstSymbol = 2

// TaskNames returns the names NewTask accepts, tagging tasks first.
func TaskNames() []string {
	return []string{"copy", "reverse", "sort", "histogram", "recall", "lag", "runparity", "parity", "dyck"}
}

// NewTask returns the named task over symbols distinct content symbols
// (spelled a, b, …, z, aa, ab, …). Parity and dyck have a fixed binary
// alphabet and ignore symbols, as does runparity. Besides "lag" (distance
// LagDefault), NewTask accepts "lag<k>" for any distance k >= 1 (NewLag).
func NewTask(name string, symbols int) (Task, error) {
	if k, ok := parseLag(name); ok {
		return NewLag(k, symbols)
	}
	switch name {
	case "lag":
		return NewLag(LagDefault, symbols)
	case "runparity":
		return newRunParity(), nil
	case "parity":
		return newParity(), nil
	case "dyck":
		return newDyck(), nil
	}
	if !slices.Contains(TaskNames(), name) {
		return nil, fmt.Errorf("data: task %q: %w (valid: %s)", name, ErrUnknownTask, strings.Join(TaskNames(), ", "))
	}
	if symbols < 2 || symbols > MaxSymbols {
		return nil, fmt.Errorf("data: task %q: symbols %d out of range [2, %d]", name, symbols, MaxSymbols)
	}
	switch name {
	case "recall":
		return newRecall(symbols), nil
	case "copy":
		return newSeqTask(name, opCopy, symbols), nil
	case "reverse":
		return newSeqTask(name, opReverse, symbols), nil
	case "sort":
		return newSeqTask(name, opSort, symbols), nil
	default: // histogram
		return newSeqTask(name, opHistogram, symbols), nil
	}
}

// MaxLength returns the longest length t supports faithfully, or 0 for no
// limit. A task states a limit by having a MaxLength() int method; of the
// built-in tasks only histogram does (HistogramMaxCount).
func MaxLength(t Task) int {
	if l, ok := t.(interface{ MaxLength() int }); ok {
		return l.MaxLength()
	}
	return 0
}

// filler is implemented by the built-in tasks: fill writes an example into
// ex, reusing its slices, so that training streams do not allocate per step.
// Generate(rng, n) and fill(rng, n, ex) draw the same numbers.
type filler interface {
	fill(rng *rand.Rand, length int, ex *Example)
}

// generateInto makes an example of t into ex, without allocating when t is
// a built-in task and ex's slices are large enough.
func generateInto(t Task, rng *rand.Rand, length int, ex *Example) {
	if f, ok := t.(filler); ok {
		f.fill(rng, length, ex)
		return
	}
	*ex = t.Generate(rng, length)
}

func generate(f filler, rng *rand.Rand, length int) Example {
	var ex Example
	f.fill(rng, length, &ex)
	return ex
}

// base holds what every built-in task reports.
type base struct {
	name    string
	kind    Kind
	in, out *Vocab
	minLen  int
}

func (b *base) Name() string     { return b.name }
func (b *base) Kind() Kind       { return b.kind }
func (b *base) InVocab() *Vocab  { return b.in }
func (b *base) OutVocab() *Vocab { return b.out }
func (b *base) MinLength() int   { return b.minLen }

func (b *base) check(length int) {
	if length < b.minLen {
		panic(fmt.Sprintf("data: %s: length %d below minimum %d", b.name, length, b.minLen))
	}
}

// resize returns s with length n, reusing its array when large enough.
func resize(s []int, n int) []int {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int, n)
}

// letters spells i in bijective base 26: a … z, aa, ab, ….
func letters(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append(b, byte('a'+(i-1)%26))
	}
	slices.Reverse(b)
	return string(b)
}

// mustVocab builds a vocabulary from tokens the package itself spells.
func mustVocab(tokens ...string) *Vocab {
	v, err := NewVocab(tokens)
	if err != nil {
		panic(err) // unreachable: built-in spellings are distinct
	}
	return v
}

func symbolVocab(n int) *Vocab {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = letters(i)
	}
	return mustVocab(toks...)
}
