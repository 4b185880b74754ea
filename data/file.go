package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLineBytes bounds one line of a data file.
const maxLineBytes = 16 << 20

// HeldOutFraction is the share of a training file held out for each of
// validation and test when no separate file is given for it.
const HeldOutFraction = 0.1

// Line is one example line of a data file, as tokens.
type Line struct {
	Num           int      // 1-based line number in the file
	Input, Target []string // the tokens of the input and target columns
}

// ParseTSV reads example lines: input tokens, one TAB, target tokens, with
// tokens separated by spaces. Blank lines and lines starting with "#" are
// skipped; "\r\n" endings are accepted and a UTF-8 byte-order mark at the
// start is dropped. Invalid UTF-8, NUL bytes, carriage returns inside a
// line (a file with old Mac "\r" line endings) and whitespace other than
// the ASCII space and TAB are errors: each would otherwise become tokens
// that no later file spells the same way. A target of as many tokens as the
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
		if num == 1 {
			text = strings.TrimPrefix(text, bom)
		}
		fail := func(format string, args ...any) (Kind, []Line, error) {
			return 0, nil, fmt.Errorf("data: %s:%d: %s", name, num, fmt.Sprintf(format, args...))
		}
		if err := checkText(text); err != nil {
			return fail("%v", err)
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
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
		if errors.Is(err, bufio.ErrTooLong) {
			return 0, nil, fmt.Errorf("data: %s:%d: line longer than %d MiB", name, num+1, maxLineBytes>>20)
		}
		return 0, nil, fmt.Errorf("data: %s:%d: %w", name, num+1, err)
	}
	if kind == 0 {
		kind = Tagging
	}
	return kind, lines, nil
}

// bom is the UTF-8 encoding of U+FEFF, which some editors put at the start
// of a text file.
const bom = "\uFEFF"

// checkText reports what makes one line of a data file unreadable as
// tokens: invalid UTF-8, a NUL byte, a carriage return, or whitespace other
// than the ASCII space and TAB (a no-break space, an em space, a vertical
// tab, a line separator…), which would split tokens where no space shows,
// or join them where one seems to.
func checkText(text string) error {
	if !utf8.ValidString(text) {
		for i, r := range text {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(text[i:]); size == 1 {
					return fmt.Errorf("invalid UTF-8 at byte %d (the file must be UTF-8 text)", i+1)
				}
			}
		}
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		return fmt.Errorf("NUL byte at byte %d (is this a binary file?)", i+1)
	}
	if i := strings.IndexByte(text, '\r'); i >= 0 {
		return fmt.Errorf("carriage return at byte %d inside a line: lines must end in \\n or \\r\\n (a file saved with old Mac \\r line endings needs converting)", i+1)
	}
	for i, r := range text {
		if r != ' ' && r != '\t' && unicode.IsSpace(r) {
			return fmt.Errorf("whitespace %U at byte %d: tokens are separated by ASCII spaces only (replace it with a space)", r, i+1)
		}
	}
	return nil
}

// Tokens splits one line of input, as given on a command line, into
// tokens separated by ASCII spaces or TABs; it refuses what a data file's
// line may not hold (see ParseTSV).
func Tokens(text string) ([]string, error) {
	if err := checkText(text); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return strings.Fields(text), nil
}

// FileData is one data file read as examples: its kind, the vocabularies
// its examples are encoded with, and where each example came from.
type FileData struct {
	Name     string    // the path or label it was read from
	Kind     Kind      // Tagging (a target per input token) or Classification (one label per line)
	In, Out  *Vocab    // ReadFile: the file's sorted tokens after the specials
	Examples []Example // the lines as vocabulary ids, in file order
	Lines    []int     // Lines[i] is the 1-based line of Examples[i]
	MaxLen   int       // longest input
	Unknown  int       // tokens the vocabularies lack, read as UnkID
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
	in, err := NewVocab(slices.Sorted(maps.Keys(inSet)))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	out, err := NewVocab(slices.Sorted(maps.Keys(outSet)))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	return newFileData(name, kind, lines, in, out), nil
}

// ReadFileAgainst reads a validation, test or evaluation file of the given
// kind against a training file's vocabularies. Tokens they lack, on either
// side, become UnkID and are counted in Unknown.
func ReadFileAgainst(path string, kind Kind, in, out *Vocab) (*FileData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ParseFileAgainst(f, path, kind, in, out)
}

// ParseFileAgainst is ReadFileAgainst over a reader; name labels errors.
func ParseFileAgainst(r io.Reader, name string, kind Kind, in, out *Vocab) (*FileData, error) {
	if kind != Tagging && kind != Classification {
		return nil, fmt.Errorf("data: %s: invalid kind %d", name, int(kind))
	}
	_, lines, err := ParseTSV(r, name, kind)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("data: %s: no examples", name)
	}
	return newFileData(name, kind, lines, in, out), nil
}

// ReadFileWithVocab is ReadFileAgainst returning the examples and the count
// of unknown tokens alone.
func ReadFileWithVocab(path string, kind Kind, in, out *Vocab) (examples []Example, unknown int, err error) {
	fd, err := ReadFileAgainst(path, kind, in, out)
	if err != nil {
		return nil, 0, err
	}
	return fd.Examples, fd.Unknown, nil
}

// ParseFileWithVocab is ReadFileWithVocab over a reader; name labels errors.
func ParseFileWithVocab(r io.Reader, name string, kind Kind, in, out *Vocab) (examples []Example, unknown int, err error) {
	fd, err := ParseFileAgainst(r, name, kind, in, out)
	if err != nil {
		return nil, 0, err
	}
	return fd.Examples, fd.Unknown, nil
}

func newFileData(name string, kind Kind, lines []Line, in, out *Vocab) *FileData {
	fd := &FileData{Name: name, Kind: kind, In: in, Out: out,
		Examples: make([]Example, len(lines)), Lines: make([]int, len(lines))}
	for i, l := range lines {
		ids, u1 := in.Encode(l.Input)
		tgt, u2 := out.Encode(l.Target)
		fd.Examples[i] = Example{Input: ids, Target: tgt}
		fd.Lines[i] = l.Num
		fd.Unknown += u1 + u2
		fd.MaxLen = max(fd.MaxLen, len(ids))
	}
	return fd
}

// Tokens counts the tokens of fd's inputs and targets, the denominator of
// Unknown.
func (fd *FileData) Tokens() int {
	n := 0
	for _, ex := range fd.Examples {
		n += len(ex.Input) + len(ex.Target)
	}
	return n
}

// CheckLen reports the first example of fd longer than maxLen tokens as
// "name:line".
func (fd *FileData) CheckLen(maxLen int) error {
	for i, ex := range fd.Examples {
		if len(ex.Input) > maxLen {
			return fmt.Errorf("data: %s:%d: %d tokens, longer than len %d", fd.Name, fd.Lines[i], len(ex.Input), maxLen)
		}
	}
	return nil
}

// Split shuffles examples with a generator seeded by seed and holds out
// about valFraction of them as validation and testFraction as test (a
// fraction of 0 holds out nothing for that set). Examples that share an
// input go to the same set, so no held-out input is ever trained on, even
// when the file repeats lines. Each set asked for gets at least one
// example and training keeps at least one; too few distinct inputs for
// that is ErrTooFewExamples. The examples share memory with the input.
func Split(examples []Example, valFraction, testFraction float64, seed uint64) (train, val, test []Example, err error) {
	if !(valFraction >= 0 && testFraction >= 0 && valFraction+testFraction < 1) {
		return nil, nil, nil, fmt.Errorf("data: split fractions %g and %g must be non-negative and sum below 1", valFraction, testFraction)
	}
	// Group examples by input, in order of first appearance.
	index := map[string]int{}
	var groups [][]int
	var key []byte
	for i, ex := range examples {
		key = appendKey(key[:0], ex.Input)
		g, ok := index[string(key)]
		if !ok {
			g = len(groups)
			index[string(key)] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	n := float64(len(examples))
	wantVal, wantTest := sizeOf(valFraction, n), sizeOf(testFraction, n)
	sets := 1 + min(wantVal, 1) + min(wantTest, 1)
	if len(groups) < sets {
		return nil, nil, nil, fmt.Errorf("data: %d distinct inputs cannot fill training and %d held-out sets: %w", len(groups), sets-1, ErrTooFewExamples)
	}
	order := rand.New(rand.NewPCG(seed, streamFileSplit)).Perm(len(groups))
	for k, g := range order {
		left := len(order) - k - 1 // groups after this one
		needTest := min(max(wantTest-len(test), 0), 1)
		dst := &train
		switch {
		case len(val) < wantVal && left >= 1+needTest:
			dst = &val
		case len(test) < wantTest && left >= 1:
			dst = &test
		}
		for _, i := range groups[g] {
			*dst = append(*dst, examples[i])
		}
	}
	return train, val, test, nil
}

// sizeOf is the number of examples a fraction of n asks for: none for a
// zero fraction, else at least one.
func sizeOf(f, n float64) int {
	if f == 0 {
		return 0
	}
	return max(1, int(math.Round(f*n)))
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
