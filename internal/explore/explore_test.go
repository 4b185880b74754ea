package explore

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// trained trains c and opens its best checkpoint.
func trained(t testing.TB, c train.Config) *train.Checkpoint {
	t.Helper()
	tr, err := train.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	ck, err := train.OpenRun(c.Out, train.Best, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func tiny(t testing.TB) train.Config {
	c := train.Default()
	c.MinLen, c.Len, c.ValExamples, c.TestExamples = 2, 8, 40, 60
	c.DModel, c.Heads, c.Layers, c.DFF, c.Batch = 16, 2, 2, 32, 8
	c.Steps, c.EvalEvery, c.SaveEvery, c.LogEvery, c.Warmup = 30, 10, 10, 10, 3
	c.Out = t.TempDir()
	return c
}

func decodeFloats(t *testing.T, s string) []float64 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(b)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return out
}

// TestBuild: a page holds each example's weights, queries and keys as
// Inspect computes them, its probe examples with their history as the
// probes file has it, and Write embeds it all in one document that refers
// to nothing outside itself.
func TestBuild(t *testing.T) {
	ck := trained(t, tiny(t))
	p, err := Build(ck, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := train.ReadProbes(ck.RunDir())
	if err != nil {
		t.Fatal(err)
	}
	if p.History == nil || !slices.Equal(p.History.Steps, []int{10, 20, 30}) || len(p.Examples) != Shown+len(ph.Header.Examples) {
		t.Fatalf("history %+v, %d examples", p.History, len(p.Examples))
	}
	var all []byte
	for _, r := range ph.Records {
		all = append(all, r.Weights...)
	}
	if got, _ := base64.StdEncoding.DecodeString(p.History.Weights); !bytes.Equal(got, all) {
		t.Errorf("history weights differ from the probes file's")
	}
	ev := train.NewEvaluator(ck.Model)
	defer ev.Close()
	in, _, _ := ck.Vocabs()
	for i, e := range p.Examples {
		ids, _ := in.Encode(e.Tokens)
		ins, err := ev.Inspect(ids)
		if err != nil {
			t.Fatal(err)
		}
		for name, pair := range map[string][2][]float64{
			"weights": {decodeFloats(t, e.Weights), Flatten(ins.Weights)},
			"q":       {decodeFloats(t, e.Q), Flatten(ins.Q)},
			"k":       {decodeFloats(t, e.K), Flatten(ins.K)},
		} {
			got, want := pair[0], pair[1]
			if len(got) != len(want) {
				t.Fatalf("example %d %s: %d values, want %d", i, name, len(got), len(want))
			}
			for j := range got {
				if got[j] != float64(float32(want[j])) {
					t.Fatalf("example %d %s[%d] = %v, want %v", i, name, j, got[j], want[j])
				}
			}
		}
		if probe := i - Shown; probe >= 0 && (e.Probe != probe || !slices.Equal(ids, ph.Header.Examples[probe].Input)) {
			t.Errorf("example %d: probe %d, input %v; want probe %d %v", i, e.Probe, ids, probe, ph.Header.Examples[probe].Input)
		}
	}

	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, re := range []string{`(?i)\ssrc\s*=`, `(?i)<link`, `(?i)\bhref\s*=\s*["']?https?:`, `(?i)@import`, `(?i)\burl\(`, `(?i)\bfetch\(`, `XMLHttpRequest`} {
		if regexp.MustCompile(re).MatchString(html) {
			t.Errorf("the page matches %s: it may load something", re)
		}
	}
	for _, m := range regexp.MustCompile(`https?://[^\s'"<>]+`).FindAllString(html, -1) {
		if m != "http://www.w3.org/2000/svg" { // SVG's namespace, a name and no address
			t.Errorf("the page names %s", m)
		}
	}
	m := regexp.MustCompile(`<script id="qkv-data" type="application/json">(.*)</script>`).FindStringSubmatch(html)
	var back Page
	if m == nil || json.Unmarshal([]byte(m[1]), &back) != nil || back.Examples[0].Weights != p.Examples[0].Weights {
		t.Errorf("the page's data does not read back")
	}
}

// TestBuildTokensEscaped: a token that spells a closing tag stays inside
// the data element.
func TestBuildTokensEscaped(t *testing.T) {
	var b bytes.Buffer
	p := &Page{Title: "</title><script>", Examples: []Example{{Tokens: []string{"</script>", "<b>&"}}}}
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b.Bytes(), []byte("</script>")); n != 2 {
		t.Errorf("%d </script> in the page, want 2 (the data's and the code's)", n)
	}
	if bytes.Contains(b.Bytes(), []byte("<title></title>")) {
		t.Errorf("the title was not escaped")
	}
}

// TestBuildLSTM: an LSTM's page holds gradient saliency, in the same
// layout as one layer of one head.
func TestBuildLSTM(t *testing.T) {
	c := tiny(t)
	c.Model, c.Heads = train.LSTM, 1
	ck := trained(t, c)
	p, err := Build(ck, [][]string{{"a", "b", "c"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != train.ProbeSaliency || p.Layers != 1 || p.Heads != 1 || p.History == nil || len(p.Examples) != 1+4 {
		t.Fatalf("kind %s, %d×%d, history %v, %d examples", p.Kind, p.Layers, p.Heads, p.History, len(p.Examples))
	}
	gp, err := train.NewGradientProbe(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	defer gp.Close()
	in, out, _ := ck.Vocabs()
	ids, _ := in.Encode(p.Examples[0].Tokens)
	pred, _ := out.Encode(p.Examples[0].Predicted)
	s, err := gp.Saliency(dataExample(ids, pred))
	if err != nil {
		t.Fatal(err)
	}
	got, want := decodeFloats(t, p.Examples[0].Weights), Flatten(s)
	for i := range want {
		if got[i] != float64(float32(want[i])) {
			t.Fatalf("saliency[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestDefaultRunSize: the default reverse run's page, with the history of
// all its validations, is under 2 MB. The page's size follows from the
// model's shape and the examples' lengths, not from the weights, so a
// short run of the default model whose probes file is extended to the
// full run's number of records stands for the full run.
func TestDefaultRunSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the default model")
	}
	c := train.Default()
	full := c.Steps / c.EvalEvery
	c.Steps, c.EvalEvery, c.SaveEvery = 2, 2, 2
	c.Out = t.TempDir()
	ck := trained(t, c)
	path := filepath.Join(c.Out, train.ProbesFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := train.ReadProbes(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	rec := b[len(b)-ph.Header.RecordSize():]
	for i := 1; i < full; i++ {
		b = append(b, rec...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Build(ck, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := Write(&page, p); err != nil {
		t.Fatal(err)
	}
	t.Logf("default run: %d examples, %d records, page %d bytes", len(p.Examples), len(p.History.Steps), page.Len())
	if len(p.History.Steps) != full {
		t.Fatalf("%d records, want %d", len(p.History.Steps), full)
	}
	if page.Len() >= 2e6 {
		t.Errorf("the default run's page is %d bytes, want under 2 MB", page.Len())
	}
}

func dataExample(in, target []int) data.Example { return data.Example{Input: in, Target: target} }
