package train_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

// The PyTorch cross-check: each directory under testdata/torch (at the
// repository root) holds one trained checkpoint (a step-* directory),
// inputs.tsv (held-out examples of mixed lengths, so that evaluating them in
// one batch pads) and logits.json, written by scripts/torch_eval.py from the
// same checkpoint and inputs. The test recomputes the logits with
// train.Evaluator.Logits, as cmd/eval does, and compares. It never runs
// Python; to retrain the checkpoints and rewrite every file (needs
// /usr/bin/python3 with torch):
//
//	go test ./train/ -run TestTorchParity -torch-update
var torchUpdate = flag.Bool("torch-update", false, "retrain the checkpoints under testdata/torch and rerun scripts/torch_eval.py on them")

// torchTolerance bounds |Go − PyTorch| over every logit.
const torchTolerance = 1e-4

const (
	torchRunDir = "run"               // the fixtures' run directory, relative, as their config.json records it
	torchRoot   = "../testdata/torch" // from the package directory
	torchPython = "/usr/bin/python3"
	torchInputs = 12 // examples per fixture
)

type torchFixture struct {
	name string
	cfg  func() (train.Config, error)
}

func torchFixtures() []torchFixture {
	small := func(task string, edit func(*train.Config)) func() (train.Config, error) {
		return func() (train.Config, error) {
			c, err := train.Preset(task)
			if err != nil {
				return c, err
			}
			c.DModel, c.Heads, c.Layers, c.DFF = 16, 2, 2, 32
			c.Steps, c.Warmup, c.LR = 400, 40, 3e-3
			c.ValExamples, c.TestExamples = 200, 200
			c.EvalEvery, c.SaveEvery, c.LogEvery, c.Keep = 400, 400, 100, 1
			edit(&c)
			return c, nil
		}
	}
	return []torchFixture{
		// The default architecture: post-norm, ReLU, sinusoidal, float32.
		{"reverse_post", small("reverse", func(c *train.Config) {
			c.Steps, c.EvalEvery, c.SaveEvery = 1500, 1500, 1500
		})},
		// Every option the other takes by default turned the other way.
		{"sort_pre_gelu_learned", small("sort", func(c *train.Config) {
			c.Norm, c.Activation, c.Positional, c.Dtype = "pre", "gelu", "learned", "float64"
		})},
		// A classification head: the masked mean of the encoder output.
		{"dyck_classify", small("dyck", func(c *train.Config) {})},
	}
}

// torchLogits is what scripts/torch_eval.py writes.
type torchLogits struct {
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	Kind       string `json:"kind"`
	Dtype      string `json:"dtype"`
	Torch      string `json:"torch_version"`
	Examples   []struct {
		Input  []string    `json:"input"`
		Logits [][]float64 `json:"logits"`
	} `json:"examples"`
}

func TestTorchParity(t *testing.T) {
	for _, fx := range torchFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			dir := filepath.Join(torchRoot, fx.name)
			if *torchUpdate {
				regenerateTorchFixture(t, fx, dir)
			}
			checkTorchFixture(t, fx, dir)
		})
	}
}

func checkTorchFixture(t *testing.T, fx torchFixture, dir string) {
	ckDir := onlyStepDir(t, dir)
	ck, err := train.LoadCheckpoint(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	// The committed checkpoint is the architecture the fixture claims.
	want, err := fx.cfg()
	if err != nil {
		t.Fatal(err)
	}
	want.Out = torchRunDir
	if d := configDiff(ck.Config, want); d != "" {
		t.Fatalf("%s: the checkpoint's config is not the fixture's (its task's preset with the fixture's edits): %s (regenerate with -torch-update)", ckDir, d)
	}

	in, out, err := ck.Vocabs()
	if err != nil {
		t.Fatal(err)
	}
	inputs := filepath.Join(dir, "inputs.tsv")
	exs, _, err := data.ReadFileWithVocab(inputs, ck.Vocab.Kind, in, out)
	if err != nil {
		t.Fatal(err)
	}
	lengths := map[int]bool{}
	for _, ex := range exs {
		lengths[len(ex.Input)] = true
	}
	if len(lengths) < 2 {
		t.Fatalf("%s: every input has the same length; the fixture must exercise padding", inputs)
	}
	ev := train.NewEvaluator(ck.Model)
	defer ev.Close()
	goLogits, err := ev.Logits(exs)
	if err != nil {
		t.Fatal(err)
	}

	var ref torchLogits
	b, err := os.ReadFile(filepath.Join(dir, "logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("%s/logits.json: %v", dir, err)
	}
	if ref.Kind != ck.Vocab.Kind.String() {
		t.Fatalf("logits.json is for a %s model, the checkpoint is %s", ref.Kind, ck.Vocab.Kind)
	}
	if ref.Step != ck.Step() {
		t.Fatalf("logits.json is of step %d, the checkpoint of step %d", ref.Step, ck.Step())
	}
	if len(ref.Examples) != len(exs) {
		t.Fatalf("logits.json has %d examples, inputs.tsv %d", len(ref.Examples), len(exs))
	}
	v := out.Size()
	worst, where, n := 0.0, "", 0
	for i, ex := range exs {
		r := ref.Examples[i]
		if toks := in.Decode(ex.Input); !slices.Equal(r.Input, toks) {
			t.Fatalf("example %d: logits.json input %q, inputs.tsv %q", i, r.Input, toks)
		}
		if len(r.Logits) != len(goLogits[i]) {
			t.Fatalf("example %d: %d rows of logits in logits.json, %d from Go", i, len(r.Logits), len(goLogits[i]))
		}
		for j, row := range goLogits[i] {
			if len(row) != v || len(r.Logits[j]) != v {
				t.Fatalf("example %d row %d: %d logits from Go, %d in logits.json, want %d", i, j, len(row), len(r.Logits[j]), v)
			}
			for k, x := range row {
				d := math.Abs(x - r.Logits[j][k])
				if !(d <= worst) { // NaN lands here too
					worst, where = d, fmt.Sprintf("example %d, row %d, class %d: Go %v, PyTorch %v", i, j, k, x, r.Logits[j][k])
				}
				n++
			}
		}
	}
	t.Logf("%s (%s, torch %s, %s): %d logits of %d examples, max |Go − PyTorch| = %.3g at %s",
		ckDir, ck.Config.Dtype, ref.Torch, ref.Dtype, n, len(exs), worst, where)
	if !(worst <= torchTolerance) {
		t.Errorf("max |Go − PyTorch| = %g exceeds %g at %s", worst, torchTolerance, where)
	}
}

// configDiff names every setting in which got differs from want, as
// "key got (want want)", or returns "" when the configs are equal. It
// compares the JSON of the whole struct, so a field added to train.Config
// is compared without a change here.
func configDiff(got, want train.Config) string {
	var g, w map[string]any
	if err := json.Unmarshal(got.JSON(), &g); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(want.JSON(), &w); err != nil {
		return err.Error()
	}
	var diffs []string
	for k := range w {
		if _, ok := g[k]; !ok {
			g[k] = nil
		}
	}
	for _, k := range slices.Sorted(maps.Keys(g)) {
		if !reflect.DeepEqual(g[k], w[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %v (want %v)", k, g[k], w[k]))
		}
	}
	if len(diffs) == 0 && got != want {
		return fmt.Sprintf("%+v (want %+v)", got, want) // a field without a JSON key
	}
	return strings.Join(diffs, ", ")
}

// onlyStepDir returns the single step-* directory of dir.
func onlyStepDir(t *testing.T, dir string) string {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, "step-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("%s: want exactly one step-* checkpoint, found %d (regenerate with -torch-update)", dir, len(ms))
	}
	return ms[0]
}

// regenerateTorchFixture trains the fixture's model, copies its last
// checkpoint into dir, writes held-out inputs and runs the PyTorch script.
func regenerateTorchFixture(t *testing.T, fx torchFixture, dir string) {
	cfg, err := fx.cfg()
	if err != nil {
		t.Fatal(err)
	}
	// The run directory goes into config.json: train in a temporary working
	// directory under a plain relative name, so no machine path is committed
	// and a rerun writes identical files.
	tmp := t.TempDir()
	cfg.Out = torchRunDir
	res, err := trainIn(tmp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: trained %d steps; held-out test token accuracy %.3f, sequence accuracy %.3f",
		fx.name, res.Steps, res.Test.TokenAccuracy, res.Test.SequenceAccuracy)
	src := filepath.Join(tmp, cfg.Out, fmt.Sprintf("step-%08d", cfg.Steps))
	ck, err := train.LoadCheckpoint(src)
	if err != nil {
		t.Fatal(err)
	}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}

	// Held-out examples, one of each length first so the batch pads.
	exs, err := ck.HeldOut(train.SplitTest, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	picked := make([]bool, len(exs))
	seen := map[int]bool{}
	count := 0
	for i, ex := range exs {
		if count < torchInputs && !seen[len(ex.Input)] {
			seen[len(ex.Input)], picked[i] = true, true
			count++
		}
	}
	for i := range exs {
		if count < torchInputs && !picked[i] {
			picked[i] = true
			count++
		}
	}
	in, out, err := ck.Vocabs()
	if err != nil {
		t.Fatal(err)
	}
	var tsv strings.Builder
	fmt.Fprintf(&tsv, "# %s: held-out test examples of the checkpoint's run, input TAB target\n", fx.name)
	for i, ex := range exs {
		if !picked[i] {
			continue
		}
		if slices.Contains(ex.Target, data.Ignore) {
			t.Fatalf("%s: a target with ignored positions cannot be written as TSV", fx.name)
		}
		fmt.Fprintf(&tsv, "%s\t%s\n", strings.Join(in.Decode(ex.Input), " "), strings.Join(out.Decode(ex.Target), " "))
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs.tsv"), []byte(tsv.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// Paths relative to the repository root, which logits.json records.
	rel := func(p string) string { r, _ := filepath.Rel("..", p); return filepath.ToSlash(r) }
	cmd := exec.Command(torchPython, "scripts/torch_eval.py", rel(dst),
		"--data", rel(filepath.Join(dir, "inputs.tsv")), "--out", rel(filepath.Join(dir, "logits.json")))
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
}

// trainIn runs cfg to the end with dir as the working directory.
func trainIn(dir string, cfg train.Config) (train.Result, error) {
	wd, err := os.Getwd()
	if err != nil {
		return train.Result{}, err
	}
	if err := os.Chdir(dir); err != nil {
		return train.Result{}, err
	}
	defer os.Chdir(wd)
	tr, err := train.New(cfg)
	if err != nil {
		return train.Result{}, err
	}
	return tr.Run(context.Background())
}
