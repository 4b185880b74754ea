package data

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// reference computes a task's targets from its decoded input, independently
// of the generators; "" stands for Ignore.
func reference(task string, in []string) []string {
	out := make([]string, len(in))
	switch task {
	case "copy":
		copy(out, in)
	case "reverse":
		for i, tok := range in {
			out[len(in)-1-i] = tok
		}
	case "sort": // lexicographic is symbol order for <= 26 symbols
		copy(out, in)
		slices.Sort(out)
	case "histogram":
		for i, tok := range in {
			c := 0
			for _, other := range in {
				if other == tok {
					c++
				}
			}
			out[i] = strconv.Itoa(min(c, HistogramMaxCount))
		}
	case "recall":
		q := in[len(in)-1]
		for i := 0; i+1 < len(in)-1; i += 2 {
			if in[i] == q {
				out[len(in)-1] = in[i+1]
				break
			}
		}
	case "lag": // LagDefault; "" (Ignore) before it
		for i := LagDefault; i < len(in); i++ {
			out[i] = in[i-LagDefault]
		}
	case "runparity":
		ones := 0
		for i, tok := range in {
			ones += strings.Count(tok, "1")
			out[i] = []string{"even", "odd"}[ones%2]
		}
	case "parity":
		out = []string{[]string{"even", "odd"}[strings.Count(strings.Join(in, ""), "1")%2]}
	case "dyck":
		out = []string{"unbalanced"}
		if balancedString(in) {
			out = []string{"balanced"}
		}
	}
	return out
}

// balancedString is the Dyck-1 reference over "(" and ")".
func balancedString(toks []string) bool {
	h := 0
	for _, tok := range toks {
		switch tok {
		case "(":
			h++
		case ")":
			h--
		}
		if h < 0 {
			return false
		}
	}
	return h == 0
}

func TestReference(t *testing.T) {
	tests := []struct {
		task    string
		in, out string
	}{
		{"copy", "a b c", "a b c"}, // "-" is Ignore
		{"reverse", "a b c", "c b a"},
		{"sort", "c a b a", "a a b c"},
		{"histogram", "a b a c a", "3 1 3 1 3"},
		{"recall", "a 1 b 2 c 3 b", "- - - - - - 2"},
		{"recall", "a 1 b 2 . . a", "- - - - - - 1"},
		{"lag", "a b c d e", "- - - a b"},
		{"runparity", "1 0 1 1", "odd odd even odd"},
		{"parity", "1 0 1", "even"},
		{"parity", "1 1 1", "odd"},
		{"dyck", "( ( ) )", "balanced"},
		{"dyck", ") ( ( )", "unbalanced"},
		{"dyck", "( ( ) ( )", "unbalanced"},
	}
	for _, tt := range tests {
		out := reference(tt.task, strings.Fields(tt.in))
		for i, tok := range out {
			if tok == "" {
				out[i] = "-"
			}
		}
		if got := strings.Join(out, " "); got != tt.out {
			t.Errorf("reference(%s, %q) = %q, want %q", tt.task, tt.in, got, tt.out)
		}
	}
}

// decodeTargets decodes targets with "" for Ignore.
func decodeTargets(v *Vocab, ids []int) []string {
	out := v.Decode(ids)
	for i, id := range ids {
		if id == Ignore {
			out[i] = ""
		}
	}
	return out
}

func TestTasks(t *testing.T) {
	tests := []struct {
		name            string
		kind            Kind
		inSize, outSize int
		minLen          int
	}{
		{"copy", Tagging, 7, 7, 1},
		{"reverse", Tagging, 7, 7, 1},
		{"sort", Tagging, 7, 7, 1},
		{"histogram", Tagging, 7, 2 + HistogramMaxCount, 1},
		{"recall", Tagging, 2 + 5 + 5 + 1, 7, 3},
		{"lag", Tagging, 7, 7, LagDefault + 1},
		{"runparity", Tagging, 4, 4, 1},
		{"parity", Classification, 4, 4, 1},
		{"dyck", Classification, 4, 4, 2},
	}
	for _, tt := range tests {
		task, err := NewTask(tt.name, 5)
		if err != nil {
			t.Fatalf("NewTask(%q, 5): %v", tt.name, err)
		}
		if task.Name() != tt.name || task.Kind() != tt.kind || task.MinLength() != tt.minLen ||
			task.InVocab().Size() != tt.inSize || task.OutVocab().Size() != tt.outSize {
			t.Errorf("%s: name %q kind %v min %d sizes %d/%d; want %v %d %d/%d", tt.name, task.Name(), task.Kind(),
				task.MinLength(), task.InVocab().Size(), task.OutVocab().Size(), tt.kind, tt.minLen, tt.inSize, tt.outSize)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for n := tt.minLen; n <= 24; n++ {
			for range 50 {
				ex := task.Generate(rng, n)
				wantT := n
				if tt.kind == Classification {
					wantT = 1
				}
				if len(ex.Input) != n || len(ex.Target) != wantT {
					t.Fatalf("%s: Generate(%d) lengths %d/%d, want %d/%d", tt.name, n, len(ex.Input), len(ex.Target), n, wantT)
				}
				for _, id := range ex.Input {
					if id < firstSymbol || id >= task.InVocab().Size() {
						t.Fatalf("%s: input id %d out of content range", tt.name, id)
					}
				}
				for _, id := range ex.Target {
					if id != Ignore && (id < firstSymbol || id >= task.OutVocab().Size()) {
						t.Fatalf("%s: target id %d out of content range", tt.name, id)
					}
				}
				in := task.InVocab().Decode(ex.Input)
				got, want := decodeTargets(task.OutVocab(), ex.Target), reference(tt.name, in)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: input %q: target %q, want %q", tt.name, in, got, want)
				}
			}
		}
	}
}

func TestNewTaskErrors(t *testing.T) {
	tests := []struct {
		name    string
		symbols int
		wantErr string
	}{
		{"copyy", 5, "copy, reverse, sort, histogram, recall, lag, runparity, parity, dyck"},
		{"lag", 1, "symbols 1 out of range"},
		{"lag0", 5, "unknown task"},
		{"lag-1", 5, "unknown task"},
		{"lag03", 5, "unknown task"},
		{"", 5, "unknown task"},
		{"copy", 1, "symbols 1 out of range"},
		{"recall", MaxSymbols + 1, "out of range"},
	}
	for _, tt := range tests {
		_, err := NewTask(tt.name, tt.symbols)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewTask(%q, %d) error = %v, want one containing %q", tt.name, tt.symbols, err, tt.wantErr)
		}
	}
	if _, err := NewTask("nope", 5); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("NewTask(nope) error %v is not ErrUnknownTask", err)
	}
	if _, err := NewTask("runparity", 0); err != nil {
		t.Errorf("NewTask(runparity, 0) = %v; runparity ignores symbols", err)
	}
	if _, err := NewTask("parity", 0); err != nil {
		t.Errorf("NewTask(parity, 0) = %v; parity ignores symbols", err)
	}
}

func TestGenerateBelowMinimumPanics(t *testing.T) {
	task, _ := NewTask("recall", 5)
	defer func() {
		if recover() == nil {
			t.Error("Generate(rng, 2) on recall did not panic")
		}
	}()
	task.Generate(rand.New(rand.NewPCG(1, 1)), 2)
}

func TestSymbolNames(t *testing.T) {
	for i, want := range map[int]string{0: "a", 25: "z", 26: "aa", 27: "ab", 51: "az", 52: "ba", 701: "zz", 702: "aaa"} {
		if got := letters(i); got != want {
			t.Errorf("letters(%d) = %q, want %q", i, got, want)
		}
	}
	task, _ := NewTask("copy", 1000)
	if task.InVocab().Size() != 1002 {
		t.Errorf("copy over 1000 symbols has %d tokens", task.InVocab().Size())
	}
}

func TestHistogramClips(t *testing.T) {
	task, _ := NewTask("histogram", 2)
	if MaxLength(task) != HistogramMaxCount {
		t.Errorf("MaxLength(histogram) = %d, want %d", MaxLength(task), HistogramMaxCount)
	}
	ex := task.Generate(rand.New(rand.NewPCG(3, 3)), 200)
	for _, tok := range task.OutVocab().Decode(ex.Target) {
		if tok != strconv.Itoa(HistogramMaxCount) {
			t.Fatalf("count %q in a length-200 binary sequence, want clipped %d", tok, HistogramMaxCount)
		}
	}
	if copyTask, _ := NewTask("copy", 2); MaxLength(copyTask) != 0 {
		t.Errorf("MaxLength(copy) = %d, want 0", MaxLength(copyTask))
	}
}

func TestDyckClasses(t *testing.T) {
	task, _ := NewTask("dyck", 0)
	rng := rand.New(rand.NewPCG(5, 6))
	const draws = 2000
	var bal, equalCounts, flipped int
	for range draws {
		ex := task.Generate(rng, 16)
		in := task.InVocab().Decode(ex.Input)
		if balancedString(in) {
			bal++
			continue
		}
		if strings.Count(strings.Join(in, ""), "(") == 8 {
			equalCounts++
		} else {
			flipped++
		}
	}
	if frac := float64(bal) / draws; frac < 0.45 || frac > 0.55 {
		t.Errorf("balanced share %.3f, want about 0.5", frac)
	}
	// Both kinds of near miss are present, about a quarter each.
	for what, n := range map[string]int{"equal-count unbalanced": equalCounts, "one-flip unbalanced": flipped} {
		if frac := float64(n) / draws; frac < 0.2 || frac > 0.3 {
			t.Errorf("%s share %.3f, want about 0.25", what, frac)
		}
	}
	for range 200 {
		ex := task.Generate(rng, 9)
		if task.OutVocab().Token(ex.Target[0]) != "unbalanced" {
			t.Fatalf("odd-length example labelled %q", task.OutVocab().Token(ex.Target[0]))
		}
	}
}

func TestDyckUniform(t *testing.T) {
	// At length 6 there are 5 balanced strings; each should get ~1/5 of
	// the balanced draws.
	task, _ := NewTask("dyck", 0)
	rng := rand.New(rand.NewPCG(9, 9))
	counts := map[string]int{}
	total := 0
	for range 10000 {
		ex := task.Generate(rng, 6)
		if ex.Target[0] == label0 {
			counts[strings.Join(task.InVocab().Decode(ex.Input), "")]++
			total++
		}
	}
	if len(counts) != 5 {
		t.Fatalf("saw %d balanced strings of length 6, want 5: %v", len(counts), counts)
	}
	for s, n := range counts {
		if frac := float64(n) / float64(total); frac < 0.17 || frac > 0.23 {
			t.Errorf("balanced %s drawn %.3f of the time, want about 0.2", s, frac)
		}
	}
}

func TestRecallLongRange(t *testing.T) {
	task, _ := NewTask("recall", 20)
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 41
	far := 0
	for range 500 {
		ex := task.Generate(rng, n)
		q := ex.Input[n-1]
		keyPos := slices.Index(ex.Input, q)
		if keyPos%2 != 0 || keyPos == n-1 {
			t.Fatalf("query %d not found as a key in %v", q, ex.Input)
		}
		if n-1-keyPos >= 36 {
			far++
		}
	}
	if far < 25 { // expected 3/20 of 500 = 75
		t.Errorf("only %d of 500 queries were >= 36 positions from their key", far)
	}
	// With few symbols, filler pushes every pair far from the query.
	task, _ = NewTask("recall", 4)
	ex := task.Generate(rng, 64)
	if got := strings.Join(task.InVocab().Decode(ex.Input[8:63]), ""); got != strings.Repeat(".", 55) {
		t.Errorf("recall(4 symbols, length 64) filler = %q", got)
	}
}

func TestDeterminism(t *testing.T) {
	for _, name := range TaskNames() {
		task, _ := NewTask(name, 6)
		draw := func(seed uint64) []Example {
			rng := rand.New(rand.NewPCG(seed, 0))
			exs := make([]Example, 20)
			for i := range exs {
				exs[i] = task.Generate(rng, 12)
			}
			return exs
		}
		a, b, c := draw(1), draw(1), draw(2)
		same := func(x, y []Example) bool {
			return slices.EqualFunc(x, y, func(p, q Example) bool {
				return slices.Equal(p.Input, q.Input) && slices.Equal(p.Target, q.Target)
			})
		}
		if !same(a, b) {
			t.Errorf("%s: same seed gave different examples", name)
		}
		if same(a, c) {
			t.Errorf("%s: seeds 1 and 2 gave the same examples", name)
		}
	}
}

func TestKindText(t *testing.T) {
	for _, k := range []Kind{Tagging, Classification} {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var got Kind
		if err := json.Unmarshal(b, &got); err != nil || got != k {
			t.Errorf("JSON round trip of %v: %s → %v, %v", k, b, got, err)
		}
	}
	if Kind(0).String() != "Kind(0)" {
		t.Errorf("Kind(0).String() = %q", Kind(0).String())
	}
	if _, err := json.Marshal(Kind(7)); err == nil {
		t.Error("marshalling Kind(7) succeeded")
	}
	if _, err := ParseKind("tag"); err == nil {
		t.Error(`ParseKind("tag") succeeded`)
	}
}
