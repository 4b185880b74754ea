package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInertSettingsRefused: a setting that would do nothing is refused
// before anything is written, as a flag and as a -config key — a
// transformer's setting for an LSTM, a generated task's for a data file,
// and an "out" that a resumed run would ignore — while the same keys at
// the values a run's own config.json records are accepted. Before, the
// keys were taken silently (only the LSTM flags were refused).
func TestInertSettingsRefused(t *testing.T) {
	dir := t.TempDir()
	conf := func(name, json string) string {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(json), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data := filepath.Join(dir, "d.tsv")
	var b strings.Builder
	for i := range 60 {
		b.WriteString(string(rune('a'+i%7)) + " " + string(rune('a'+i/7%7)) + "\tx\n")
	}
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "never")
	for _, c := range []struct {
		name string
		args []string
		want string // "" for accepted
	}{
		{"lstm heads in a config", []string{"-config", conf("lstm-heads", `{"model": "lstm", "heads": 2}`)}, `key "heads" is a transformer setting`},
		{"lstm d_ff in a config, model by flag", []string{"-model", "lstm", "-config", conf("lstm-dff", `{"d_ff": 64}`)}, `key "d_ff" is a transformer setting`},
		{"lstm with the default heads restated", []string{"-config", conf("lstm-same", `{"model": "lstm", "heads": 4, "d_ff": 128, "norm": "post"}`)}, ""},
		{"transformer heads in a config", []string{"-config", conf("tr-heads", `{"heads": 2}`)}, ""},
		{"min-len with data", []string{"-data", data, "-min-len", "3"}, "-min-len is a generated task's setting"},
		{"vocab with data", []string{"-data", data, "-vocab", "5"}, "-vocab is a generated task's setting"},
		{"val-examples with data", []string{"-data", data, "-val-examples", "7"}, "-val-examples is a generated task's setting"},
		{"test-examples with data", []string{"-data", data, "-test-examples", "7"}, "-test-examples is a generated task's setting"},
		{"min_len in a config with data", []string{"-data", data, "-config", conf("data-minlen", `{"min_len": 4}`)}, `key "min_len" is a generated task's setting`},
		{"a data run's config.json keys at their values", []string{"-config", conf("data-run", `{"data": "`+data+`", "vocab": 10, "min_len": 2, "val_examples": 500, "test_examples": 1000}`)}, ""},
		{"min-len for a task", []string{"-task", "copy", "-min-len", "3"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-out", out}, c.args...)
			if c.want == "" {
				cfg, opts, g, err := parse(context.Background(), args, io.Discard)
				if err == nil {
					err = inert(cfg, g, opts)
				}
				if err != nil {
					t.Errorf("train %s: %v, want it accepted", strings.Join(c.args, " "), err)
				}
				return
			}
			err := run(context.Background(), args, io.Discard, io.Discard)
			if exitCode(err) != exitUsage || err == nil || !strings.Contains(errorLine(err), c.want) || strings.Contains(errorLine(err), "\n") {
				t.Errorf("train %s: exit %d, %v; want %d and one line containing %q", strings.Join(c.args, " "), exitCode(err), err, exitUsage, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("train %s: refused, yet %s exists", strings.Join(c.args, " "), out)
			}
		})
	}
}

// TestResumeConfigOut: on -resume an "out" in a -config naming another
// directory was ignored silently; it is refused as -out is, while the
// run's own config.json (which names its directory) is taken.
func TestResumeConfigOut(t *testing.T) {
	work := t.TempDir()
	run := filepath.Join(work, "run")
	mustTrain(t, work, tiny("-out", run, "-steps", "4", "-save-every", "4", "-eval-every", "4")...)
	other := filepath.Join(work, "other.json")
	if err := os.WriteFile(other, []byte(`{"out": "`+filepath.Join(work, "elsewhere")+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	checkUsageError(t, runTrain(t, work, "-resume", run, "-config", other, "-steps", "5"), "sets out")
	if _, err := os.Stat(filepath.Join(work, "elsewhere")); !os.IsNotExist(err) {
		t.Errorf("a refused resume created the config's out (stat: %v)", err)
	}
	mustTrain(t, work, "-resume", run, "-config", filepath.Join(run, "config.json"), "-steps", "5")
}

// TestHeldOutTooBig: -val-examples 100000000 took all of a 24 GB machine's
// memory before; held-out sets that cannot fit are refused at once with
// the one line -len and -batch get, and nothing is written.
func TestHeldOutTooBig(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo: the check needs the kernel's MemAvailable")
	}
	out := filepath.Join(t.TempDir(), "run")
	for _, flag := range []string{"-val-examples", "-test-examples"} {
		err := run(context.Background(), tiny("-out", out, flag, "100000000000"), io.Discard, io.Discard)
		if exitCode(err) != exitUsage || !strings.Contains(errorLine(err), "lower "+flag) {
			t.Errorf("%s 1e11: exit %d, %v; want %d saying to lower %s", flag, exitCode(err), err, exitUsage, flag)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s 1e11: refused, yet %s exists", flag, out)
		}
	}
}
