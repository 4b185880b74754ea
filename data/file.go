package data

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

// maxLineBytes bounds one line of a data file.
const maxLineBytes = 16 << 20

// DefaultValFraction is the share of a file SplitFile holds out when given
// a fraction <= 0.
const DefaultValFraction = 0.1

// Line is one example line of a data file, as tokens.
type Line struct {
	Num           int // 1-based line number in the file
	Input, Target []string
}

// ParseTSV reads example lines: input tokens, one TAB, target tokens, with
// tokens separated by spaces. Blank lines and lines starting with "#" are
// skipped; "\r\n" endings are accepted. A target of as many tokens as the
// input makes a tagging line; a single token, a classification line. With
// want 0 the first line that is only one of these decides the file's kind,
// and a file of nothing but one-token lines with one-token targets is
// Tagging. With want set, every line must fit it. Errors are
// "data: name:line: problem".
func ParseTSV(r io.Reader, name string, want Kind) (Kind, []Line, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	kind, decidedAt := want, 0
	var lines []Line
	num := 0
	for sc.Scan() {
		num++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fail := func(format string, args ...any) (Kind, []Line, error) {
			return 0, nil, fmt.Errorf("data: %s:%d: %s", name, num, fmt.Sprintf(format, args...))
		}
		if tabs := strings.Count(text, "\t"); tabs != 1 {
			if tabs == 0 {
				return fail("no tab between input and target")
			}
			return fail("%d tabs, want 1 between input and target", tabs)
		}
		before, after, _ := strings.Cut(text, "\t")
		in, out := strings.Fields(before), strings.Fields(after)
		switch {
		case len(in) == 0:
			return fail("empty input")
		case len(out) == 0:
			return fail("empty target")
		}
		for _, tok := range append(in[:len(in):len(in)], out...) {
			if tok == PadToken || tok == UnkToken {
				return fail("token %q is reserved", tok)
			}
		}
		var lk Kind // 0: fits both kinds (one input token, one target)
		switch {
		case len(in) == 1 && len(out) == 1:
		case len(out) == len(in):
			lk = Tagging
		case len(out) == 1:
			lk = Classification
		case want == Tagging:
			return fail("target has %d tokens, want %d (tagging)", len(out), len(in))
		case want == Classification:
			return fail("target has %d tokens, want 1 (classification)", len(out))
		default:
			return fail("target has %d tokens, want %d (tagging) or 1 (classification)", len(out), len(in))
		}
		switch {
		case lk == 0 || lk == kind:
		case kind == 0:
			kind, decidedAt = lk, num
		case decidedAt > 0:
			return fail("%s line (%d input tokens, %d target tokens) in a file that line %d made %s", lk, len(in), len(out), decidedAt, kind)
		default:
			return fail("%s line (%d input tokens, %d target tokens) in a %s file", lk, len(in), len(out), kind)
		}
		lines = append(lines, Line{Num: num, Input: in, Target: out})
	}
	if err := sc.Err(); err != nil {
		return 0, nil, fmt.Errorf("data: %s:%d: %w", name, num+1, err)
	}
	if kind == 0 {
		kind = Tagging
	}
	return kind, lines, nil
}

// FileData is a user's training file: its kind, the vocabularies built from
// it, and its examples.
type FileData struct {
	Kind     Kind
	In, Out  *Vocab // sorted tokens after the specials
	Examples []Example
	MaxLen   int // longest input
}

// ReadFile reads a training file and builds its vocabularies.
func ReadFile(path string) (*FileData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ParseFile(f, path)
}

// ParseFile is ReadFile over a reader; name labels errors.
func ParseFile(r io.Reader, name string) (*FileData, error) {
	kind, lines, err := ParseTSV(r, name, 0)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("data: %s: no examples", name)
	}
	inSet, outSet := map[string]bool{}, map[string]bool{}
	for _, l := range lines {
		for _, tok := range l.Input {
			inSet[tok] = true
		}
		for _, tok := range l.Target {
			outSet[tok] = true
		}
	}
	fd := &FileData{Kind: kind}
	if fd.In, err = NewVocab(slices.Sorted(maps.Keys(inSet))); err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	if fd.Out, err = NewVocab(slices.Sorted(maps.Keys(outSet))); err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	fd.Examples, _ = encodeLines(lines, fd.In, fd.Out)
	for _, ex := range fd.Examples {
		fd.MaxLen = max(fd.MaxLen, len(ex.Input))
	}
	return fd, nil
}

// ReadFileWithVocab reads a validation or evaluation file of the given kind
// against a training file's vocabularies. Tokens they lack, on either side,
// become UnkID and are counted in unknown.
func ReadFileWithVocab(path string, kind Kind, in, out *Vocab) (examples []Example, unknown int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ParseFileWithVocab(f, path, kind, in, out)
}

// ParseFileWithVocab is ReadFileWithVocab over a reader; name labels errors.
func ParseFileWithVocab(r io.Reader, name string, kind Kind, in, out *Vocab) (examples []Example, unknown int, err error) {
	if kind != Tagging && kind != Classification {
		return nil, 0, fmt.Errorf("data: %s: invalid kind %d", name, int(kind))
	}
	_, lines, err := ParseTSV(r, name, kind)
	if err != nil {
		return nil, 0, err
	}
	if len(lines) == 0 {
		return nil, 0, fmt.Errorf("data: %s: no examples", name)
	}
	examples, unknown = encodeLines(lines, in, out)
	return examples, unknown, nil
}

func encodeLines(lines []Line, in, out *Vocab) ([]Example, int) {
	exs := make([]Example, len(lines))
	unknown := 0
	for i, l := range lines {
		ids, u1 := in.Encode(l.Input)
		tgt, u2 := out.Encode(l.Target)
		exs[i] = Example{Input: ids, Target: tgt}
		unknown += u1 + u2
	}
	return exs, unknown
}

// SplitFile shuffles fd's examples with a generator seeded by seed and holds
// out valFraction of them (DefaultValFraction when <= 0), rounded, at least
// one and at most all but one; a file of one example gives no val. Training
// examples whose input also occurs in val are dropped, so the split is
// disjoint even when the file repeats lines: len(fd.Examples) minus the two
// lengths is the count dropped. The examples share memory with fd.
func SplitFile(fd *FileData, valFraction float64, seed uint64) (train, val []Example) {
	n := len(fd.Examples)
	if !(valFraction > 0) {
		valFraction = DefaultValFraction
	}
	nv := 0
	if n >= 2 {
		nv = int(math.Round(math.Min(valFraction, 1) * float64(n)))
		nv = min(max(nv, 1), n-1)
	}
	order := rand.New(rand.NewPCG(seed, streamFileSplit)).Perm(n)
	held := make(map[string]struct{}, nv)
	val = make([]Example, nv)
	for i, j := range order[:nv] {
		val[i] = fd.Examples[j]
		held[string(appendKey(nil, val[i].Input))] = struct{}{}
	}
	train = make([]Example, 0, n-nv)
	var key []byte
	for _, j := range order[nv:] {
		key = appendKey(key[:0], fd.Examples[j].Input)
		if _, ok := held[string(key)]; !ok {
			train = append(train, fd.Examples[j])
		}
	}
	return train, val
}

// Overlap counts the examples of a whose input is also an input in b, to
// check or report leakage between a training set and a held-out file.
func Overlap(a, b []Example) int {
	keys := make(map[string]struct{}, len(b))
	for _, ex := range b {
		keys[string(appendKey(nil, ex.Input))] = struct{}{}
	}
	n := 0
	var key []byte
	for _, ex := range a {
		key = appendKey(key[:0], ex.Input)
		if _, ok := keys[string(key)]; ok {
			n++
		}
	}
	return n
}
