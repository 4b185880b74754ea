package train

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// savedRun trains a tiny copy run of steps steps, saving every saveEvery,
// and returns its run directory.
func savedRun(t *testing.T, steps, saveEvery int) string {
	t.Helper()
	c := tinyConfig(t, "copy")
	c.Steps, c.SaveEvery, c.EvalEvery = steps, saveEvery, saveEvery
	mustRun(t, c)
	return c.Out
}

func TestLoadCheckpointRejects(t *testing.T) {
	src := filepath.Join(savedRun(t, 10, 10), stepDir(10))
	if _, err := LoadCheckpoint(src); err != nil {
		t.Fatalf("LoadCheckpoint(a fresh checkpoint) = %v", err)
	}
	editJSON := func(t *testing.T, dir, name string, edit func(map[string]any)) {
		files := readCheckpointFiles(t, dir)
		var m map[string]any
		if err := json.Unmarshal(files[name], &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
		writeCheckpointFiles(t, dir, files) // the manifest agrees: only the decoders can object
	}
	tests := []struct {
		name   string
		file   string   // the file the error must name
		want   []string // and what it must say
		damage func(t *testing.T, dir string)
	}{
		{"truncated weights", fileModel, []string{"bytes, manifest says", "truncated"}, func(t *testing.T, dir string) {
			path := filepath.Join(dir, fileModel)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)/2], 0o644)
		}},
		{"flipped optimizer byte", fileOptimizer, []string{"SHA-256 does not match", "corrupted"}, func(t *testing.T, dir string) {
			path := filepath.Join(dir, fileOptimizer)
			b, _ := os.ReadFile(path)
			b[len(b)-3] ^= 0x01
			os.WriteFile(path, b, 0o644)
		}},
		{"missing state", fileState, []string{"no such file"}, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, fileState))
		}},
		{"missing manifest", fileManifest, []string{"no such file"}, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, fileManifest))
		}},
		{"format version 99", fileManifest, []string{"unknown format version 99"}, func(t *testing.T, dir string) {
			path := filepath.Join(dir, fileManifest)
			b, _ := os.ReadFile(path)
			var m map[string]any
			json.Unmarshal(b, &m)
			m["format"] = 99
			b, _ = json.Marshal(m)
			os.WriteFile(path, b, 0o644)
		}},
		{"manifest not JSON", fileManifest, []string{"malformed manifest"}, func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, fileManifest), []byte("step 10, trust me\n"), 0o644)
		}},
		{"file missing from manifest", fileVocab, []string{"not listed in the manifest"}, func(t *testing.T, dir string) {
			path := filepath.Join(dir, fileManifest)
			b, _ := os.ReadFile(path)
			var m manifest
			json.Unmarshal(b, &m)
			delete(m.Files, fileVocab)
			b, _ = json.Marshal(m)
			os.WriteFile(path, b, 0o644)
		}},
		{"d_model disagrees with the weights", fileModel, []string{`"embed.`, "has shape", "16", "32"}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileConfig, func(m map[string]any) { m["d_model"] = 32 })
		}},
		{"layers disagree with the weights", fileModel, []string{`"encoder.layers.1.`}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileConfig, func(m map[string]any) { m["layers"] = 2 })
		}},
		{"absurd d_ff", fileConfig, []string{"d_ff 32000000000", "model.safetensors holds"}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileConfig, func(m map[string]any) { m["d_ff"] = 32e9 }) // allocating it would kill the process
		}},
		{"invalid config", fileConfig, []string{"not divisible"}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileConfig, func(m map[string]any) { m["heads"] = 3 })
		}},
		{"unknown config key", fileConfig, []string{"unknown key"}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileConfig, func(m map[string]any) { m["d_modle"] = 16 })
		}},
		{"vocabulary one token short", fileModel, []string{`"embed.`, "has shape"}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileVocab, func(m map[string]any) { in := m["in"].([]any); m["in"] = in[:len(in)-1] })
		}},
		{"optimizer step missing", fileOptimizer, []string{"moments"}, func(t *testing.T, dir string) {
			editJSON(t, dir, fileState, func(m map[string]any) { m["optimizer_step"] = 0 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), stepDir(10))
			copyDir(t, src, dir)
			tt.damage(t, dir)
			ck, err := LoadCheckpoint(dir)
			if err == nil {
				t.Fatalf("LoadCheckpoint = %+v, want an error", ck.state)
			}
			t.Log(err)
			oneLine(t, err)
			for _, s := range append([]string{filepath.Join(dir, tt.file)}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("LoadCheckpoint error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestOpenRunFallsBack: a damaged newest checkpoint is skipped, with a
// warning, for the newest good one; with none good, ErrNoCheckpoint.
func TestOpenRunFallsBack(t *testing.T) {
	dir := savedRun(t, 30, 10)
	if got := stepDirs(t, dir); !slices.Equal(got, []int{10, 20, 30}) {
		t.Fatalf("checkpoints %v, want [10 20 30]", got)
	}
	damage := func(step int) {
		path := filepath.Join(dir, stepDir(step), fileModel)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x80
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	damage(30)
	for _, which := range []string{Latest, Best} {
		var warnings []string
		ck, err := OpenRun(dir, which, func(msg string) { warnings = append(warnings, msg) })
		if err != nil {
			t.Fatalf("OpenRun(%s) = %v", which, err)
		}
		if ck.state.Step != 20 {
			t.Errorf("OpenRun(%s) loaded step %d, want 20", which, ck.state.Step)
		}
		all := strings.Join(warnings, "\n")
		for _, want := range []string{stepDir(30), "SHA-256", filepath.Join(dir, stepDir(20))} {
			if !strings.Contains(all, want) {
				t.Errorf("OpenRun(%s) warnings %q do not mention %q", which, warnings, want)
			}
		}
	}
	damage(20)
	damage(10)
	_, err := OpenRun(dir, Latest, func(string) {})
	if !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("OpenRun(all damaged) = %v, want ErrNoCheckpoint", err)
	}
}

// TestLeftoverTempDir: a half-written checkpoint left by a crash is
// invisible to OpenRun and removed by the next save.
func TestLeftoverTempDir(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Steps, c.SaveEvery = 10, 10
	mustRun(t, c)
	// A crash mid-save: a temporary directory holding a newer step, some of
	// its files written, no manifest.
	tmp := filepath.Join(c.Out, tmpPrefix+stepDir(20)+"-123456")
	copyDir(t, filepath.Join(c.Out, stepDir(10)), tmp)
	if err := os.Remove(filepath.Join(tmp, fileManifest)); err != nil {
		t.Fatal(err)
	}
	ck, err := OpenRun(c.Out, Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) })
	if err != nil || ck.state.Step != 10 {
		t.Fatalf("OpenRun = step %v, %v; want step 10", ck, err)
	}
	c.Steps = 20
	if _, err := mustResume(t, c.Out, c).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("%s survived the next save", e.Name())
		}
	}
	if got := stepDirs(t, c.Out); !slices.Contains(got, 20) {
		t.Errorf("checkpoints %v lack step 20", got)
	}
}

// TestKeepLastAndBest: pruning leaves exactly the newest Keep checkpoints
// and the best, which best.json names. The model is wrecked part-way, so
// that the best is old and would otherwise be pruned.
func TestKeepLastAndBest(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Steps, c.Keep = 60, 2
	c.LogEvery, c.EvalEvery, c.SaveEvery = 5, 10, 5
	tr := mustNew(t, c)
	tr.SetProgress(NewProgress(stepHook(func(step int) {
		if step == 35 {
			setAll(t, tr.Model(), 0) // no gradient reaches zeroed weights but the head's bias: accuracy collapses for good
		}
	}), false))
	res, err := tr.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := readBest(osFiles{}, c.Out)
	if err != nil {
		t.Fatalf("best.json: %v", err)
	}
	if b.Step > 30 || res.Best != b.Step {
		t.Fatalf("best step %d (result %d), want one before the damage at 35", b.Step, res.Best)
	}
	t.Logf("best: step %d, validation sequence accuracy %.2f, loss %.3f", b.Step, b.SequenceAccuracy, b.Loss)
	want := []int{b.Step, 55, 60}
	if got := stepDirs(t, c.Out); !slices.Equal(got, want) {
		t.Errorf("checkpoints %v, want %v (the newest %d and the best)", got, want, c.Keep)
	}
	ck, err := OpenRun(c.Out, Best, func(msg string) { t.Errorf("OpenRun(best) warned: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	if ck.state.Step != b.Step {
		t.Errorf("OpenRun(best) loaded step %d, want %d", ck.state.Step, b.Step)
	}
	if ck.state.Best == nil || ck.state.Best.Step != b.Step || b.SequenceAccuracy != ck.state.Val.SequenceAccuracy {
		t.Errorf("best checkpoint's state %+v disagrees with best.json %+v", ck.state, b)
	}
}
