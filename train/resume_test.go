package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// resumeConfig is a float32 run with dropout, so that resuming must restore
// the weights, Adam's moments and step, the dropout generator, the data
// stream and the unfinished logging window to continue bit for bit.
func resumeConfig(t *testing.T, schedule string) Config {
	c := tinyConfig(t, "copy")
	c.Dtype = "float32"
	c.Dropout = 0.1
	c.Schedule = schedule
	c.Steps = 40
	c.LogEvery, c.EvalEvery, c.SaveEvery = 4, 10, 20 // windows that straddle evaluations and saves
	return c
}

// TestResumeAfterShorterRun: a run of N steps, extended to 2N with -steps,
// equals a run of 2N steps, when the learning-rate schedule does not depend
// on the total (a cosine schedule stretches with -steps by design).
func TestResumeAfterShorterRun(t *testing.T) {
	for _, schedule := range []string{"constant", "noam"} {
		t.Run(schedule, func(t *testing.T) {
			cfgA := resumeConfig(t, schedule)
			resA := mustRun(t, cfgA)

			cfgB := cfgA
			cfgB.Out = t.TempDir()
			cfgB.Steps = cfgA.Steps / 2
			mustRun(t, cfgB)
			cfgB.Steps = cfgA.Steps
			resB, err := mustResume(t, cfgB.Out, cfgB).Run(context.Background())
			if err != nil {
				t.Fatalf("resumed Run: %v", err)
			}
			compareRuns(t, cfgA.Out, cfgB.Out, cfgA.Steps)
			if resA.Test.Loss != resB.Test.Loss || resA.Test.SequenceAccuracy != resB.Test.SequenceAccuracy || resA.Best != resB.Best {
				t.Errorf("results differ: %+v vs %+v", resA, resB)
			}
		})
	}
}

// TestResumeAfterInterrupt: a run cancelled part-way saves, returns
// ErrInterrupted, and resumed equals the uninterrupted run.
func TestResumeAfterInterrupt(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		at       int  // step after which the context is cancelled (before Run: TestRunStoppedBeforeSetup)
		eval     bool // cancel on the validation line of step at (mid logging window), not the log line
	}{
		{"after a log line", "cosine", 12, false},
		{"mid logging window", "cosine", 10, true},
		{"mid window, warmup+noam", "noam", 30, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := resumeConfig(t, tt.schedule)
			mustRun(t, cfg)

			dirB := t.TempDir()
			cfgB := cfg
			cfgB.Out = dirB
			tr := mustNew(t, cfgB)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hook := func(step int) {
				if step == tt.at {
					cancel()
				}
			}
			if tt.eval {
				tr.SetProgress(NewProgress(evalHook(hook), false))
			} else {
				tr.SetProgress(NewProgress(stepHook(hook), false))
			}
			res, err := tr.Run(ctx)
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("interrupted Run = %v, want ErrInterrupted", err)
			}
			if res.Steps != tt.at {
				t.Fatalf("interrupted Run stopped at step %d, want %d", res.Steps, tt.at)
			}
			if _, err := LoadCheckpoint(filepath.Join(dirB, stepDir(tt.at))); err != nil {
				t.Fatalf("no checkpoint of the interrupted step: %v", err)
			}
			if _, err := mustResume(t, dirB, cfgB).Run(context.Background()); err != nil {
				t.Fatalf("resumed Run: %v", err)
			}
			compareRuns(t, cfg.Out, dirB, cfg.Steps)
		})
	}
}

// compareRuns checks that two run directories hold the same final
// checkpoint, bit for bit, and the same metrics, timing aside.
func compareRuns(t *testing.T, dirA, dirB string, step int) {
	t.Helper()
	a, err := LoadCheckpoint(filepath.Join(dirA, stepDir(step)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadCheckpoint(filepath.Join(dirB, stepDir(step)))
	if err != nil {
		t.Fatal(err)
	}
	compareCheckpoints(t, a, b)
	ma, mb := readMetrics(t, dirA), readMetrics(t, dirB)
	if d := diffLines(ma, mb); d != "" {
		t.Errorf("metrics.jsonl differs at %s", d)
	}
	if len(ma) == 0 || !strings.Contains(ma[len(ma)-1], "test_loss") {
		t.Errorf("metrics.jsonl does not end with the test line: %q", ma[max(len(ma)-1, 0):])
	}
}

func TestCheckResume(t *testing.T) {
	base := tinyConfig(t, "copy")
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // the key the error must name; "" for allowed changes
	}{
		{"d_model", func(c *Config) { c.DModel = 32 }, "d_model"},
		{"heads", func(c *Config) { c.Heads = 4 }, "heads"},
		{"task", func(c *Config) { c.Task = "reverse" }, "task"},
		{"seed", func(c *Config) { c.Seed = 2 }, "seed"},
		{"lr", func(c *Config) { c.LR = 1e-2 }, "lr"},
		{"dropout", func(c *Config) { c.Dropout = 0.1 }, "dropout"},
		{"data", func(c *Config) { c.Data = "other.tsv" }, "data"},
		{"warmup restated as automatic", func(c *Config) { c.Warmup = AutoWarmup }, ""},
		{"dtype", func(c *Config) { c.Dtype = "float64" }, "dtype"},
		{"schedule", func(c *Config) { c.Schedule = "noam" }, "schedule"},
		{"steps", func(c *Config) { c.Steps *= 10 }, ""},
		{"eval_every", func(c *Config) { c.EvalEvery = 7 }, ""},
		{"log_every", func(c *Config) { c.LogEvery = 3 }, ""},
		{"save_every", func(c *Config) { c.SaveEvery = 100 }, ""},
		{"keep", func(c *Config) { c.Keep = 9 }, ""},
		{"out", func(c *Config) { c.Out = "elsewhere" }, ""},
		{"all allowed at once", func(c *Config) { c.Steps, c.EvalEvery, c.LogEvery, c.SaveEvery, c.Keep = 1e6, 1, 1, 1, 1 }, ""},
	}
	for _, tt := range tests {
		next := base
		tt.change(&next)
		err := CheckResume(base, next)
		switch {
		case tt.key == "" && err != nil:
			t.Errorf("CheckResume(changed %s) = %v, want nil", tt.name, err)
		case tt.key != "" && err == nil:
			t.Errorf("CheckResume(changed %s) = nil, want an error naming %q", tt.name, tt.key)
		case tt.key != "" && !strings.Contains(err.Error(), tt.key+" "):
			t.Errorf("CheckResume(changed %s) = %q, want it to name %q", tt.name, err, tt.key)
		}
	}
}

// TestResumeRejects: Resume itself refuses a contradicting config and
// steps before the checkpoint's.
func TestResumeRejects(t *testing.T) {
	cfg := tinyConfig(t, "copy")
	cfg.Steps = 10
	mustRun(t, cfg)
	ck, err := OpenRun(cfg.Out, Latest, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.DModel = 32
	if _, err := Resume(ck, bad); err == nil || !strings.Contains(err.Error(), "d_model") {
		t.Errorf("Resume(d_model changed) = %v, want an error naming d_model", err)
	}
	early := cfg
	early.Steps = 5
	if _, err := Resume(ck, early); err == nil || !strings.Contains(err.Error(), "10") {
		t.Errorf("Resume(steps 5 < checkpoint 10) = %v, want an error", err)
	}
}

// TestResumeOtherRuns: exact resume (cancel, save, load, continue equals
// uninterrupted, bit for bit) holds beyond generated tagging tasks: for the
// classification head on generated tasks, and for a run that reads its
// examples from a TSV file, whose training stream is a shuffled list that
// wraps around several epochs in 40 steps.
func TestResumeOtherRuns(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(t *testing.T) Config
	}{
		{"parity classification", func(t *testing.T) Config { return resumeConfigFor(t, "parity") }},
		{"dyck classification", func(t *testing.T) Config { return resumeConfigFor(t, "dyck") }},
		{"lstm tagging", func(t *testing.T) Config {
			c := resumeConfigFor(t, "reverse")
			c.Model = LSTM
			return c
		}},
		{"lstm classification, one direction", func(t *testing.T) Config {
			c := resumeConfigFor(t, "parity")
			c.Model, c.Directions = LSTM, 1
			return c
		}},
		{"tagging file", func(t *testing.T) Config {
			c := resumeConfigFor(t, "")
			c.Data, c.Len = writeTaggingFile(t, 60), 0
			return c
		}},
		{"classification file, -val file", func(t *testing.T) Config {
			c := resumeConfigFor(t, "")
			c.Data = writeClassificationFile(t, "train.tsv", 50, 1)
			c.Val = writeClassificationFile(t, "val.tsv", 12, 2)
			c.Len = 0
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg(t)
			resA := mustRun(t, cfg)

			cfgB := cfg
			cfgB.Out = t.TempDir()
			tr := mustNew(t, cfgB)
			if tr.ds.Kind.String() != kindOf(tt.name) {
				t.Fatalf("run of kind %v, want %s", tr.ds.Kind, kindOf(tt.name))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const at = 30 // a validation line mid logging window, after the save at 20
			tr.SetProgress(NewProgress(evalHook(func(step int) {
				if step == at {
					cancel()
				}
			}), false))
			if res, err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) || res.Steps != at {
				t.Fatalf("interrupted Run = step %d, %v; want step %d, ErrInterrupted", res.Steps, err, at)
			}
			resB, err := mustResume(t, cfgB.Out, cfgB).Run(context.Background())
			if err != nil {
				t.Fatalf("resumed Run: %v", err)
			}
			compareRuns(t, cfg.Out, cfgB.Out, cfg.Steps)
			if !reflect.DeepEqual(resA.Test, resB.Test) || resA.Best != resB.Best {
				t.Errorf("results differ: %+v vs %+v", resA, resB)
			}
		})
	}
}

// kindOf is the kind of run a TestResumeOtherRuns case name says.
func kindOf(name string) string {
	if strings.Contains(name, "classification") {
		return "classification"
	}
	return "tagging"
}

// resumeConfigFor is resumeConfig for a task, or for a data file when task
// is empty (the caller sets Data). The classification tasks need longer
// sequences than tinyConfig's for distinct validation and test sets.
func resumeConfigFor(t *testing.T, task string) Config {
	c := resumeConfig(t, "cosine")
	c.Task = task
	if task != "" {
		c.Len = 12
	}
	return c
}

// writeTaggingFile writes n reversal examples of 2 to 7 words (input TAB
// target) into a new file and returns its path.
func writeTaggingFile(t *testing.T, n int) string {
	t.Helper()
	words := []string{"ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen"}
	rng := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	b.WriteString("# reverse the words\n")
	for range n {
		in := make([]string, 2+rng.IntN(6))
		for i := range in {
			in[i] = words[rng.IntN(len(words))]
		}
		out := slices.Clone(in)
		slices.Reverse(out)
		fmt.Fprintf(&b, "%s\t%s\n", strings.Join(in, " "), strings.Join(out, " "))
	}
	return writeTemp(t, "reverse.tsv", b.String())
}

// writeClassificationFile writes n examples of 2 to 7 bits labelled by
// whether they hold more ones than zeros into a new file named name.
func writeClassificationFile(t *testing.T, name string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	var b strings.Builder
	for range n {
		in := make([]string, 2+rng.IntN(6))
		ones := 0
		for i := range in {
			in[i] = "0"
			if rng.IntN(2) == 1 {
				in[i], ones = "1", ones+1
			}
		}
		label := "no"
		if 2*ones > len(in) {
			label = "yes"
		}
		fmt.Fprintf(&b, "%s\t%s\n", strings.Join(in, " "), label)
	}
	return writeTemp(t, name, b.String())
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestResumePastDamagedNewest: when the newest checkpoint passes its
// checksums but fails the checks of its contents (a state.json edited and
// re-hashed), Resume takes the checkpoint OpenRun fell back to — it is no
// "newer checkpoint" to resume instead — and the resumed run replaces the
// damaged one on its way, ending bit for bit as an uninterrupted run.
func TestResumePastDamagedNewest(t *testing.T) {
	cfg := tinyConfig(t, "copy")
	cfg.Steps, cfg.SaveEvery, cfg.EvalEvery = 40, 10, 10
	mustRun(t, cfg)

	cfgB := cfg
	cfgB.Out = t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tr := mustNew(t, cfgB)
	tr.SetProgress(NewProgress(stepHook(func(step int) {
		if step == 30 {
			cancel()
		}
	}), false))
	if res, err := tr.Run(ctx); !errors.Is(err, ErrInterrupted) || res.Steps != 30 {
		t.Fatalf("Run = step %d, %v; want step 30, ErrInterrupted", res.Steps, err)
	}
	newest := filepath.Join(cfgB.Out, stepDir(30))
	files := readCheckpointFiles(t, newest)
	files[fileState] = bytes.Replace(files[fileState], []byte(`"optimizer_step": 30`), []byte(`"optimizer_step": 0`), 1)
	writeCheckpointFiles(t, newest, files)
	if _, err := verify(osFiles{}, newest); err != nil {
		t.Fatalf("the damage must pass the checksums: %v", err)
	}

	var warnings []string
	ck, err := OpenRun(cfgB.Out, Latest, func(msg string) { warnings = append(warnings, msg) })
	if err != nil || ck.Step() != 20 {
		t.Fatalf("OpenRun = %v, %v; want step 20", ck, err)
	}
	if all := strings.Join(warnings, "\n"); !strings.Contains(all, stepDir(30)) || !strings.Contains(all, "falling back to "+filepath.Join(cfgB.Out, stepDir(20))) {
		t.Errorf("OpenRun warnings %q: want the damaged step 30 and the fall back to 20", warnings)
	}
	trB, err := Resume(ck, cfgB)
	if err != nil {
		t.Fatalf("Resume past the damaged newest checkpoint: %v", err)
	}
	if _, err := trB.Run(t.Context()); err != nil {
		t.Fatalf("resumed Run: %v", err)
	}
	if _, err := LoadCheckpoint(newest); err != nil {
		t.Errorf("the resumed run left the damaged %s: %v", stepDir(30), err)
	}
	compareRuns(t, cfg.Out, cfgB.Out, cfg.Steps)
}
