package train

import (
	"context"
	"errors"
	"path/filepath"
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
		at       int  // step after which the context is cancelled; 0: before Run
		eval     bool // cancel on the validation line of step at (mid logging window), not the log line
	}{
		{"before the first step", "cosine", 0, false},
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
			if tt.at == 0 {
				cancel()
			}
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
