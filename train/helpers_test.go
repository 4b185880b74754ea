package train

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// tinyConfig is a run small enough to train in well under a second: the
// model of every test that does not need a particular one.
func tinyConfig(t testing.TB, task string) Config {
	t.Helper()
	c := Default()
	c.Task = task
	c.MinLen, c.Len = 2, 6
	c.ValExamples, c.TestExamples = 50, 50
	c.DModel, c.Heads, c.Layers, c.DFF = 16, 2, 1, 32
	c.Batch = 8
	c.Steps = 40
	c.LR, c.Warmup = 3e-3, 5
	c.EvalEvery, c.LogEvery, c.SaveEvery = 10, 5, 10
	c.Out = t.TempDir()
	return c
}

func mustNew(t testing.TB, c Config) *Trainer {
	t.Helper()
	tr, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

// mustRun trains c from scratch to c.Steps.
func mustRun(t testing.TB, c Config) Result {
	t.Helper()
	res, err := mustNew(t, c).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// mustResume continues the newest checkpoint of dir with c.
func mustResume(t testing.TB, dir string, c Config) *Trainer {
	t.Helper()
	ck, err := OpenRun(dir, Latest, func(msg string) { t.Errorf("OpenRun(%s) warned: %s", dir, msg) })
	if err != nil {
		t.Fatalf("OpenRun: %v", err)
	}
	tr, err := Resume(ck, c)
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	return tr
}

// timingKeys are the metrics that depend on the clock, not the run.
var timingKeys = []string{"tokens_per_sec", "elapsed_sec"}

// readMetrics returns the lines of dir's metrics.jsonl with the timing
// fields removed, each re-encoded with sorted keys.
func readMetrics(t testing.TB, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: metrics line %q: %v", dir, sc.Text(), err)
		}
		for _, k := range timingKeys {
			delete(m, k)
		}
		out, err := json.Marshal(m) // maps marshal with sorted keys
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(out))
	}
	return lines
}

// diffLines reports the first difference between two metrics files.
func diffLines(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d lines vs %d", len(a), len(b))
	}
	return ""
}

// bitsDiff returns a description of the first element whose bits differ.
func bitsDiff(a, b []float64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d values vs %d", len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Sprintf("element %d: %v vs %v", i, a[i], b[i])
		}
	}
	return ""
}

// compareCheckpoints reports every difference, bit for bit, between the
// weights, optimizer state and run state of two checkpoints.
func compareCheckpoints(t *testing.T, a, b *Checkpoint) {
	t.Helper()
	pa, pb := a.Model.Params(), b.Model.Params()
	if len(pa) != len(pb) {
		t.Fatalf("%d parameters vs %d", len(pa), len(pb))
	}
	for i := range pa {
		if pa[i].Dtype() != pb[i].Dtype() {
			t.Errorf("parameter %s: dtype %v vs %v", pa[i].Name(), pa[i].Dtype(), pb[i].Dtype())
		}
		if d := bitsDiff(pa[i].Float64s(), pb[i].Float64s()); d != "" {
			t.Errorf("parameter %s: %s", pa[i].Name(), d)
		}
	}
	if a.Optim.Step != b.Optim.Step {
		t.Errorf("optimizer step %d vs %d", a.Optim.Step, b.Optim.Step)
	}
	for _, which := range []struct {
		name string
		x, y map[string]*tensor.Dense
	}{{"m", a.Optim.M, b.Optim.M}, {"v", a.Optim.V, b.Optim.V}} {
		if len(which.x) != len(which.y) {
			t.Errorf("optimizer %s: %d tensors vs %d", which.name, len(which.x), len(which.y))
		}
		for name, x := range which.x {
			y, ok := which.y[name]
			if !ok {
				t.Errorf("optimizer %s.%s missing from the second checkpoint", which.name, name)
				continue
			}
			if d := bitsDiff(nn.ToFloat64s(x), nn.ToFloat64s(y)); d != "" {
				t.Errorf("optimizer %s.%s: %s", which.name, name, d)
			}
		}
	}
	sa, sb := a.state, b.state
	if sa.Step != sb.Step || sa.OptimStep != sb.OptimStep {
		t.Errorf("state step %d/%d vs %d/%d", sa.Step, sa.OptimStep, sb.Step, sb.OptimStep)
	}
	if !bytes.Equal(sa.DropoutRNG, sb.DropoutRNG) {
		t.Errorf("dropout generator state differs")
	}
	if !bytes.Equal(sa.Data, sb.Data) {
		t.Errorf("data stream state differs")
	}
	ja, _ := json.Marshal(sa)
	jb, _ := json.Marshal(sb)
	if !bytes.Equal(ja, jb) {
		t.Errorf("state.json differs:\n  %s\n  %s", ja, jb)
	}
}

// stepHook is a plain-mode progress writer that calls f with the step of
// every logging line ("step N/total ..."). Progress writes from inside the
// training loop, between steps, so f sees the model exactly as it stands
// after step N: the only place a test can act mid-run without a hook in
// the library.
type stepHook func(step int)

func (h stepHook) Write(p []byte) (int, error) {
	var step, total int
	if n, _ := fmt.Sscanf(string(p), "step %d/%d", &step, &total); n == 2 {
		h(step)
	}
	return len(p), nil
}

// evalHook calls f with the step of every validation line ("step N: validation ...").
type evalHook func(step int)

func (h evalHook) Write(p []byte) (int, error) {
	var step int
	if n, _ := fmt.Sscanf(string(p), "step %d: validation", &step); n == 1 {
		h(step)
	}
	return len(p), nil
}

// setAll overwrites every element of every parameter of m with x.
func setAll(t testing.TB, m *Model, x float64) {
	t.Helper()
	for _, p := range m.Params() {
		vals := make([]float64, p.Size())
		for i := range vals {
			vals[i] = x
		}
		if err := p.SetFloat64s(vals); err != nil {
			t.Fatal(err)
		}
	}
}

// stepDirs lists the checkpoint steps present in a run directory, oldest first.
func stepDirs(t testing.TB, dir string) []int {
	t.Helper()
	steps, err := listCheckpoints(osFiles{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(steps)
	return steps
}

// copyDir copies the checkpoint or run directory src into a new directory
// dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// readCheckpointFiles returns every file of a checkpoint directory.
func readCheckpointFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	for _, name := range append(slices.Clone(checkpointFiles), fileManifest) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	return files
}

// writeCheckpointFiles writes files into dir with a manifest recomputed to
// match them, so that verification passes and the decoders see the bytes.
func writeCheckpointFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	man := manifest{Format: FormatVersion, Files: make(map[string]manifestEntry)}
	for _, name := range checkpointFiles {
		b := files[name]
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		man.Files[name] = manifestEntry{Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileManifest), mb, 0o644); err != nil {
		t.Fatal(err)
	}
}

// oneLine fails t if an error message spans lines.
func oneLine(t testing.TB, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
}
