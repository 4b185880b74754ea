package data

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		kind     Kind
		in, out  []string // vocabularies after the specials
		examples []string // "input|target" decoded
		maxLen   int
	}{
		{
			name: "tagging",
			text: "# comment\nx y\tY X\n\n  \nz\tZ\r\n",
			kind: Tagging, in: []string{"x", "y", "z"}, out: []string{"X", "Y", "Z"},
			examples: []string{"x y|Y X", "z|Z"}, maxLen: 2,
		},
		{
			name: "classification after an ambiguous line",
			text: "good\tpos\nvery  bad movie\tneg\n",
			kind: Classification, in: []string{"bad", "good", "movie", "very"}, out: []string{"neg", "pos"},
			examples: []string{"good|pos", "very bad movie|neg"}, maxLen: 3,
		},
		{
			name: "all ambiguous is tagging",
			text: "a\tA\nb\tB\n",
			kind: Tagging, in: []string{"a", "b"}, out: []string{"A", "B"},
			examples: []string{"a|A", "b|B"}, maxLen: 1,
		},
	}
	for _, tt := range tests {
		fd, err := ParseFile(strings.NewReader(tt.text), "f.tsv")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if fd.Kind != tt.kind || fd.MaxLen != tt.maxLen ||
			!slices.Equal(fd.In.Tokens()[2:], tt.in) || !slices.Equal(fd.Out.Tokens()[2:], tt.out) {
			t.Errorf("%s: kind %v maxlen %d vocabs %q %q; want %v %d %q %q", tt.name, fd.Kind, fd.MaxLen,
				fd.In.Tokens()[2:], fd.Out.Tokens()[2:], tt.kind, tt.maxLen, tt.in, tt.out)
		}
		var got []string
		for _, ex := range fd.Examples {
			got = append(got, strings.Join(fd.In.Decode(ex.Input), " ")+"|"+strings.Join(fd.Out.Decode(ex.Target), " "))
		}
		if !slices.Equal(got, tt.examples) {
			t.Errorf("%s: examples %q, want %q", tt.name, got, tt.examples)
		}
	}
}

func TestParseTSVErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Kind
		err  string
	}{
		{"no tab", "a b\tb a\n# c\nc d e\n", 0, "f.tsv:3: no tab between input and target"},
		{"two tabs", "a\tb\tc\n", 0, "f.tsv:1: 2 tabs, want 1"},
		{"empty input", "a\ta\n \tb\n", 0, "f.tsv:2: empty input"},
		{"empty target", "a b\t  \n", 0, "f.tsv:1: empty target"},
		{"target count", "a\tb\n\n\na b c d e\tx y z\n", 0, "f.tsv:4: target has 3 tokens, want 5 (tagging) or 1 (classification)"},
		{"target count tagging", "a b c\tx y\n", Tagging, "f.tsv:1: target has 2 tokens, want 3 (tagging)"},
		{"target count classification", "a b c\tx y\n", Classification, "f.tsv:1: target has 2 tokens, want 1 (classification)"},
		{"want tagging", "a\tb\na b c\tx\n", Tagging, "f.tsv:2: classification line (3 input tokens, 1 target tokens) in a tagging file"},
		{"want classification", "a b c\tx y z\n", Classification, "f.tsv:1: tagging line (3 input tokens, 3 target tokens) in a classification file"},
		{"mix", "a b\tx y\nc\tz\na b c\tx\n", 0, "f.tsv:3: classification line (3 input tokens, 1 target tokens) in a file that line 1 made tagging"},
		{"mix other way", "a b\tx\na b\tx y\n", 0, "f.tsv:2: tagging line (2 input tokens, 2 target tokens) in a file that line 1 made classification"},
		{"reserved", "a <pad>\tx\n", 0, `f.tsv:1: token "<pad>" is reserved`},
		{"too long", "a\t" + strings.Repeat("b ", maxLineBytes/2+1) + "\n", 0, "f.tsv:1: line longer than 16 MiB"},
	}
	for _, tt := range tests {
		_, _, err := ParseTSV(strings.NewReader(tt.text), "f.tsv", tt.want)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: ParseTSV error = %v, want one containing %q", tt.name, err, tt.err)
		}
	}
	if _, err := ParseFile(strings.NewReader("# nothing\n"), "f.tsv"); err == nil || !strings.Contains(err.Error(), "no examples") {
		t.Errorf("ParseFile(empty) error = %v, want no examples", err)
	}
}

func TestReadFileWithVocab(t *testing.T) {
	fd, err := ReadFile("testdata/reverse.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if fd.Kind != Tagging || len(fd.Examples) != 3 || fd.MaxLen != 3 {
		t.Fatalf("ReadFile: kind %v, %d examples, maxlen %d", fd.Kind, len(fd.Examples), fd.MaxLen)
	}
	exs, unknown, err := ReadFileWithVocab("testdata/reverse_eval.tsv", fd.Kind, fd.In, fd.Out)
	if err != nil {
		t.Fatal(err)
	}
	if unknown != 3 { // d (input), d (target), e (target)
		t.Errorf("unknown = %d, want 3", unknown)
	}
	if got, want := exs[0].Input, []int{2, UnkID}; !slices.Equal(got, want) {
		t.Errorf("first eval input = %v, want %v", got, want)
	}
	if got, want := exs[1].Target, []int{3, UnkID}; !slices.Equal(got, want) {
		t.Errorf("second eval target = %v, want %v", got, want)
	}
	if _, _, err := ReadFileWithVocab("testdata/sentiment.tsv", Tagging, fd.In, fd.Out); err == nil ||
		!strings.Contains(err.Error(), "testdata/sentiment.tsv:2:") {
		t.Errorf("reading a classification file as tagging: error = %v, want one naming line 2", err)
	}
	if _, err := ReadFile("testdata/missing.tsv"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) error = %v, want os.ErrNotExist", err)
	}
}

func TestSplit(t *testing.T) {
	var b strings.Builder
	for i := range 95 {
		tok := string(rune('a'+i%26)) + string(rune('a'+i/26))
		b.WriteString(tok + " x\tx " + tok + "\n")
	}
	b.WriteString("aa x\tx aa\n") // a repeat of line 1: its two copies stay together
	fd, err := ParseFile(strings.NewReader(b.String()), "f.tsv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		val, test         float64
		wantVal, wantTest []int // acceptable sizes: a repeated input adds one
	}{
		{0.1, 0.1, []int{10, 11}, []int{10, 11}},
		{0.1, 0, []int{10, 11}, []int{0}},
		{0, 0.1, []int{0}, []int{10, 11}},
		{0.001, 0.001, []int{1, 2}, []int{1, 2}},
		{0.45, 0.45, []int{43, 44}, []int{43, 44}},
	}
	for _, tt := range tests {
		train, val, test, err := Split(fd.Examples, tt.val, tt.test, 7)
		if err != nil {
			t.Fatalf("Split(%v, %v): %v", tt.val, tt.test, err)
		}
		if !slices.Contains(tt.wantVal, len(val)) || !slices.Contains(tt.wantTest, len(test)) || len(train)+len(val)+len(test) != 96 {
			t.Errorf("Split(%v, %v): %d train, %d val, %d test; want val in %v, test in %v, 96 in all",
				tt.val, tt.test, len(train), len(val), len(test), tt.wantVal, tt.wantTest)
		}
		for _, pair := range [][2][]Example{{train, val}, {train, test}, {val, test}} {
			if n := Overlap(pair[0], pair[1]); n != 0 {
				t.Errorf("Split(%v, %v): %d inputs in two sets", tt.val, tt.test, n)
			}
		}
		train2, val2, test2, _ := Split(fd.Examples, tt.val, tt.test, 7)
		if !slices.EqualFunc(train, train2, sameExample) || !slices.EqualFunc(val, val2, sameExample) || !slices.EqualFunc(test, test2, sameExample) {
			t.Errorf("Split(%v, %v) not deterministic", tt.val, tt.test)
		}
		_, val3, _, _ := Split(fd.Examples, tt.val, tt.test, 8)
		if len(val) > 2 && slices.EqualFunc(val, val3, sameExample) {
			t.Errorf("Split(%v, %v): seeds 7 and 8 hold out the same examples", tt.val, tt.test)
		}
	}
	// Three distinct inputs fill three sets; two cannot.
	if train, val, test, err := Split(fd.Examples[:3], 0.1, 0.1, 1); err != nil || len(train) != 1 || len(val) != 1 || len(test) != 1 {
		t.Errorf("Split of 3 examples: %d, %d, %d, %v; want 1, 1, 1", len(train), len(val), len(test), err)
	}
	if _, _, _, err := Split(fd.Examples[:2], 0.1, 0.1, 1); !errors.Is(err, ErrTooFewExamples) {
		t.Errorf("Split of 2 examples into 3 sets: error %v, want ErrTooFewExamples", err)
	}
	if _, _, _, err := Split(fd.Examples, 0.6, 0.5, 1); err == nil {
		t.Error("Split(0.6, 0.5) accepted fractions summing above 1")
	}
}

// TestParseTSVText covers text that would become the wrong tokens: each is
// an error naming file:line, except a byte-order mark, which is dropped.
func TestParseTSVText(t *testing.T) {
	fd, err := ParseFile(strings.NewReader("\uFEFFa b\tb a\n"), "bom.tsv")
	if err != nil {
		t.Fatalf("BOM: %v", err)
	}
	if got := fd.In.Tokens(); !slices.Equal(got[2:], []string{"a", "b"}) {
		t.Errorf("BOM: input tokens %q, want a, b", got[2:])
	}
	tests := []struct{ name, text, want string }{
		{"invalid UTF-8", "a b\tb a\nc \xff\tx y\n", "f.tsv:2: invalid UTF-8 at byte 3"},
		{"NUL", "a\x00b\tx\n", "f.tsv:1: NUL byte at byte 2"},
		{"lone CR endings", "a b\tb a\rc d\td c\r", "f.tsv:1: carriage return at byte 8"},
		{"CR inside", "a\rb\tx\r\n", "f.tsv:1: carriage return at byte 2"},
		{"no-break space", "a\u00a0b\tx\n", "f.tsv:1: whitespace U+00A0 at byte 2"},
		{"em space in the target", "a b\tb\u2003a\n", "f.tsv:1: whitespace U+2003 at byte 6"},
		{"vertical tab", "a b\tb a\n\va\tb\n", "f.tsv:2: whitespace U+000B at byte 1"},
		{"line separator", "a\u2028b\tx\n", "f.tsv:1: whitespace U+2028 at byte 2"},
		{"form feed", "a\fb\tx\n", "f.tsv:1: whitespace U+000C at byte 2"},
		{"BOM not at start", "a\tb\n\uFEFFc\td\n", ""},
	}
	for _, tt := range tests {
		_, _, err := ParseTSV(strings.NewReader(tt.text), "f.tsv", 0)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckLen(t *testing.T) {
	fd, err := ParseFile(strings.NewReader("# c\na\tx\n\na b c\tx y z\n"), "f.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if err := fd.CheckLen(3); err != nil {
		t.Errorf("CheckLen(3) = %v", err)
	}
	if err := fd.CheckLen(2); err == nil || !strings.Contains(err.Error(), "f.tsv:4: 3 tokens, longer than len 2") {
		t.Errorf("CheckLen(2) = %v, want f.tsv:4", err)
	}
}

func FuzzParseTSV(f *testing.F) {
	f.Add("a b\tb a\n")
	f.Add("x\tlabel\n# c\n\ny z\tlabel\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, want := range []Kind{0, Tagging, Classification} {
			kind, lines, err := ParseTSV(strings.NewReader(text), "fuzz", want)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "data: fuzz:") {
					t.Fatalf("error %q does not name the file", err)
				}
				continue
			}
			if want != 0 && kind != want {
				t.Fatalf("ParseTSV(want %v) returned kind %v", want, kind)
			}
			for _, l := range lines {
				if len(l.Input) == 0 || kind == Tagging && len(l.Target) != len(l.Input) || kind == Classification && len(l.Target) != 1 {
					t.Fatalf("line %d: %d inputs, %d targets in a %v file", l.Num, len(l.Input), len(l.Target), kind)
				}
			}
			if want == 0 && len(lines) > 0 {
				if _, err := ParseFile(strings.NewReader(text), "fuzz"); err != nil {
					t.Fatalf("ParseTSV accepted what ParseFile rejects: %v", err)
				}
			}
		}
	})
}
