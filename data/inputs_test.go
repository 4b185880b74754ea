package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseInputs(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Line
	}{
		{"tokens", "a b c\nd\n", []Line{{Num: 1, Input: []string{"a", "b", "c"}}, {Num: 2, Input: []string{"d"}}}},
		{"no final newline", "a b", []Line{{Num: 1, Input: []string{"a", "b"}}}},
		{"target ignored", "a b\tb a\nc\tx y z\tmore\n", []Line{{Num: 1, Input: []string{"a", "b"}}, {Num: 2, Input: []string{"c"}}}},
		{"spaces and CRLF", "  a   b \r\nc\r\n", []Line{{Num: 1, Input: []string{"a", "b"}}, {Num: 2, Input: []string{"c"}}}},
		{"comments skipped, blank lines kept", "# header\na\n\n   \n#x\n\tonly a target\nb\n",
			[]Line{{Num: 2, Input: []string{"a"}}, {Num: 3}, {Num: 4}, {Num: 6}, {Num: 7, Input: []string{"b"}}}},
		{"a # inside a line is a token", "a # b\n #c\n", []Line{{Num: 1, Input: []string{"a", "#", "b"}}, {Num: 2, Input: []string{"#c"}}}},
		{"byte order mark", "\uFEFFa b\n", []Line{{Num: 1, Input: []string{"a", "b"}}}},
		{"byte order mark before a comment", "\uFEFF# c\na\n", []Line{{Num: 2, Input: []string{"a"}}}},
		{"UTF-8 tokens", "héllo 日本\n", []Line{{Num: 1, Input: []string{"héllo", "日本"}}}},
	}
	for _, tt := range tests {
		got, err := ParseInputs(strings.NewReader(tt.in), "in.txt")
		if err != nil {
			t.Errorf("%s: ParseInputs(%q): %v", tt.name, tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseInputs(%q) = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestParseInputsErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "data: in.txt: no inputs"},
		{"only comments", "# a\n# b\n", "data: in.txt: no inputs"},
		{"invalid UTF-8", "a\nb \xff c\n", "data: in.txt:2: invalid UTF-8 at byte 3"},
		{"NUL", "a\x00b\n", "data: in.txt:1: NUL byte at byte 2"},
		{"NUL in a comment", "#\x00\n", "data: in.txt:1: NUL byte"},
		{"second byte order mark", "a\n\uFEFFb\n", ""}, // a BOM past the start is text: no error
		{"reserved pad", "a\nb <pad>\n", `data: in.txt:2: token "<pad>" is reserved`},
		{"reserved unk", "<unk>\n", `data: in.txt:1: token "<unk>" is reserved`},
		{"lone CR endings", "a b\rc d\re\n", `data: in.txt:1: carriage return at byte 4`},
		{"CR inside a line", "a\rb\r\n", `data: in.txt:1: carriage return at byte 2`},
		{"no-break space", "a\u00a0b\n", `data: in.txt:1: whitespace U+00A0 at byte 2`},
		{"em space", "x\na\u2003b\n", `data: in.txt:2: whitespace U+2003 at byte 2`},
		{"vertical tab", "a\vb\n", `data: in.txt:1: whitespace U+000B at byte 2`},
		{"line separator", "a\u2028b\n", `data: in.txt:1: whitespace U+2028 at byte 2`},
		{"line too long", "a\n" + strings.Repeat("x", maxLineBytes+1) + "\n", "data: in.txt:2: line longer than 16 MiB"},
	}
	for _, tt := range tests {
		_, err := ParseInputs(strings.NewReader(tt.in), "in.txt")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: ParseInputs: %v, want no error", tt.name, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("%s: ParseInputs: %v, want an error starting %q", tt.name, err, tt.want)
		}
	}
}

func TestReadInputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte("a b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInputs(path)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Input, []string{"a", "b"}) {
		t.Errorf("ReadInputs(%s) = %+v, %v", path, got, err)
	}
	if _, err := ReadInputs(filepath.Join(t.TempDir(), "none.txt")); err == nil || !strings.Contains(err.Error(), "none.txt: no such file") {
		t.Errorf("ReadInputs of a missing file: %v", err)
	}
}
