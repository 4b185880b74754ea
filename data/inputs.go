package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// utf8BOM is the byte order mark some editors put at the start of a UTF-8
// file; it is no part of the first token.
const utf8BOM = "\uFEFF"

// ReadInputs reads a file of input sequences for a model to predict on.
func ReadInputs(path string) ([]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ParseInputs(f, path)
}

// ParseInputs reads input sequences, one a line: tokens separated by
// spaces. If a line holds a TAB, the part after the first TAB (a target,
// as in a training file) is ignored, so a training or evaluation file can
// be read as inputs. Lines starting with "#" are comments and skipped;
// every other line is one input, in order, so that predictions stay
// aligned with the lines they answer: a blank line (or one whose input
// part is blank) gives a Line with a nil Input. A leading UTF-8 byte order
// mark is removed and "\r\n" endings are accepted; what ParseTSV refuses
// in a line (invalid UTF-8, a NUL byte, a carriage return inside a line,
// whitespace but the ASCII space and TAB) or a reserved token (PadToken,
// UnkToken) is an error. Target is nil
// in every Line. A file with no line but comments is an error. Errors are
// "data: name:line: problem".
func ParseInputs(r io.Reader, name string) ([]Line, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var lines []Line
	num := 0
	for sc.Scan() {
		num++
		b := sc.Bytes()
		if num == 1 {
			b = bytes.TrimPrefix(b, []byte(utf8BOM))
		}
		b = bytes.TrimSuffix(b, []byte("\r"))
		fail := func(format string, args ...any) ([]Line, error) {
			return nil, fmt.Errorf("data: %s:%d: %s", name, num, fmt.Sprintf(format, args...))
		}
		text := string(b)
		if err := checkText(text); err != nil {
			return fail("%v", err)
		}
		if strings.HasPrefix(text, "#") {
			continue
		}
		input, _, _ := strings.Cut(text, "\t")
		toks := strings.Fields(input)
		if len(toks) == 0 {
			toks = nil
		}
		for _, tok := range toks {
			if tok == PadToken || tok == UnkToken {
				return fail("token %q is reserved", tok)
			}
		}
		lines = append(lines, Line{Num: num, Input: toks})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("data: %s:%d: line longer than %d MiB", name, num+1, maxLineBytes>>20)
		}
		return nil, fmt.Errorf("data: %s:%d: %w", name, num+1, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("data: %s: no inputs", name)
	}
	return lines, nil
}
