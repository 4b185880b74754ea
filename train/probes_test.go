package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestProbesRecordWeights: a run's probes file holds, at every validation,
// the validation metrics of that step and the probe set's attention
// weights (a transformer) or gradient saliency (an LSTM), quantised; the
// last record equals what the saved model of that step gives.
func TestProbesRecordWeights(t *testing.T) {
	for _, arch := range []Arch{Transformer, LSTM} {
		t.Run(string(arch), func(t *testing.T) {
			c := tinyConfig(t, "reverse")
			c.Model = arch
			if arch == LSTM {
				c.Heads = 1
			}
			mustRun(t, c)
			h, err := ReadProbes(c.Out)
			if err != nil {
				t.Fatal(err)
			}
			wantKind, layers, heads := ProbeAttention, c.Layers, c.Heads
			if arch == LSTM {
				wantKind, layers, heads = ProbeSaliency, 1, 1
			}
			if h.Header.Kind != wantKind || h.Header.Layers != layers || h.Header.Heads != heads {
				t.Fatalf("header %+v, want kind %s, %d layers, %d heads", h.Header, wantKind, layers, heads)
			}
			ds, err := NewDataset(c)
			if err != nil {
				t.Fatal(err)
			}
			probes := ChooseProbes(ds.Val, c.Seed)
			if len(h.Header.Examples) != probeCount || len(probes) != probeCount {
				t.Fatalf("%d probe examples, want %d", len(h.Header.Examples), probeCount)
			}
			for i, ex := range probes {
				if !slices.Equal(ex.Input, h.Header.Examples[i].Input) || !slices.Equal(ex.Target, h.Header.Examples[i].Target) {
					t.Errorf("probe %d is %v, want %v", i, h.Header.Examples[i], ex)
				}
			}
			var steps []int
			for _, r := range h.Records {
				steps = append(steps, r.Step)
			}
			if want := []int{10, 20, 30, 40}; !slices.Equal(steps, want) {
				t.Fatalf("records at steps %v, want %v", steps, want)
			}
			evals := evalLines(t, c.Out)
			for i, r := range h.Records {
				e := evals[i]
				if float64(r.Loss) != float64(float32(e["eval_loss"])) || float64(r.SequenceAccuracy) != float64(float32(e["eval_sequence_accuracy"])) ||
					float64(r.TokenAccuracy) != float64(float32(e["eval_token_accuracy"])) {
					t.Errorf("step %d: record metrics %v %v %v, metrics.jsonl %v", r.Step, r.Loss, r.TokenAccuracy, r.SequenceAccuracy, e)
				}
			}
			ck, err := LoadCheckpoint(filepath.Join(c.Out, stepDir(40)))
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			ev := NewEvaluator(ck.Model)
			defer ev.Close()
			gp, err := NewGradientProbe(ck.Model)
			if err != nil {
				t.Fatal(err)
			}
			defer gp.Close()
			for _, ex := range probes {
				var w [][][][]float64
				if arch == LSTM {
					w, err = gp.Saliency(ex)
				} else {
					w, err = ev.Attention(ex.Input)
				}
				if err != nil {
					t.Fatal(err)
				}
				want = appendQuantised(want, w)
			}
			last := h.Records[len(h.Records)-1].Weights
			if !bytes.Equal(last, want) {
				t.Errorf("last record's weights differ from the step-40 model's")
			}
			// Each attention row sums to 1 up to the quantisation.
			off := 0
			for _, ex := range h.Header.Examples {
				n := len(ex.Input)
				for range layers * heads * n {
					s := 0
					for _, b := range last[off : off+n] {
						s += int(b)
					}
					if math.Abs(float64(s)/255-1) > float64(n)/510+1e-9 {
						t.Fatalf("a row sums to %v, want 1 ± %v", float64(s)/255, float64(n)/510)
					}
					off += n
				}
			}
		})
	}
}

// evalLines returns the validation lines of dir's metrics.jsonl.
func evalLines(t *testing.T, dir string) []map[string]float64 {
	t.Helper()
	var out []map[string]float64
	for _, l := range readMetrics(t, dir) {
		if !strings.Contains(l, "eval_loss") {
			continue
		}
		m := map[string]float64{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestProbesResume: a resumed run's probes file equals an uninterrupted
// run's, byte for byte, even when the interrupted run's file holds records
// beyond the resumed step (written after the checkpoint, before a kill)
// and a torn last record.
func TestProbesResume(t *testing.T) {
	cfg := resumeConfig(t, "cosine")
	mustRun(t, cfg)
	whole, err := os.ReadFile(filepath.Join(cfg.Out, ProbesFile))
	if err != nil {
		t.Fatal(err)
	}

	cfgB := cfg
	cfgB.Out = t.TempDir()
	tr := mustNew(t, cfgB)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.SetProgress(NewProgress(stepHook(func(step int) {
		if step == 20 {
			cancel()
		}
	}), false))
	if _, err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted Run = %v, want ErrInterrupted", err)
	}
	path := filepath.Join(cfgB.Out, ProbesFile)
	h, err := ReadProbes(cfgB.Out)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != 2 {
		t.Fatalf("interrupted at step 20: %d records, want 2", len(h.Records))
	}
	// The file of a run killed later: the whole run's records, then half
	// a record.
	size := h.Header.RecordSize()
	if err := os.WriteFile(path, append(slices.Clone(whole), whole[len(whole)-size:len(whole)-size/2]...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mustResume(t, cfgB.Out, cfgB).Run(context.Background()); err != nil {
		t.Fatalf("resumed Run: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, whole) {
		t.Errorf("resumed run's %s (%d bytes) differs from the uninterrupted run's (%d bytes)", ProbesFile, len(got), len(whole))
	}
}

// TestProbesSize: the default run's probe history stays small. The file's
// size follows from its header and the number of validations; one short
// run of the default model gives the header and the record size.
func TestProbesSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the default model")
	}
	c := Default()
	c.Out = t.TempDir()
	full := c.Steps/c.EvalEvery + 1 // a record at every EvalEvery and at the last step
	c.Steps, c.EvalEvery, c.SaveEvery = 2, 2, 2
	mustRun(t, c)
	b, err := os.ReadFile(filepath.Join(c.Out, ProbesFile))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadProbes(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != 1 {
		t.Fatalf("%d records, want 1", len(h.Records))
	}
	header := len(b) - h.Header.RecordSize()
	size := header + full*h.Header.RecordSize()
	const limit = 256 << 10
	t.Logf("default run: header %d bytes, record %d bytes, %d records: %d bytes", header, h.Header.RecordSize(), full, size)
	if size > limit {
		t.Errorf("the default run's probes file would be %d bytes, over %d", size, limit)
	}
}

// TestReadProbes: a run without a probes file says so with
// fs.ErrNotExist; a file that is not one is refused; a torn record is
// left out.
func TestReadProbes(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadProbes(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no file: %v, want fs.ErrNotExist", err)
	}
	path := filepath.Join(dir, ProbesFile)
	for _, bad := range []string{"", "{}\n", `{"format":"qkv-probes","version":2,"layers":1,"heads":1,"examples":[{"input":[1],"target":[1]}]}` + "\n"} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := ReadProbes(dir); err == nil {
			t.Errorf("ReadProbes(%q) = nil error", bad)
		}
	}
	head := `{"format":"qkv-probes","version":1,"kind":"attention","layers":1,"heads":1,"examples":[{"input":[3,4],"target":[4,3]}]}` + "\n"
	rec := []byte{7, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 63, 0, 0, 0, 0, 255, 0, 51, 204}
	os.WriteFile(path, append(append([]byte(head), rec...), rec[:9]...), 0o644)
	h, err := ReadProbes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != 1 {
		t.Fatalf("%d records, want 1 (the torn one left out)", len(h.Records))
	}
	r := h.Records[0]
	if r.Step != 7 || r.Loss != 1 || r.TokenAccuracy != 0.5 || r.SequenceAccuracy != 0 || !slices.Equal(r.Weights, []byte{255, 0, 51, 204}) {
		t.Errorf("record %+v", r)
	}
}

func TestQuantise(t *testing.T) {
	for _, tt := range []struct {
		x    float64
		want byte
	}{{0, 0}, {-1, 0}, {math.NaN(), 0}, {1, 255}, {2, 255}, {0.2, 51}, {1.0 / 510, 1}, {0.99 / 510, 0}} {
		if got := Quantise(tt.x); got != tt.want {
			t.Errorf("Quantise(%v) = %d, want %d", tt.x, got, tt.want)
		}
	}
}
