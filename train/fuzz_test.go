package train

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fuzzFiles are the files FuzzLoadCheckpoint replaces, by index.
var fuzzFiles = append(slices.Clone(checkpointFiles), fileManifest)

// FuzzLoadCheckpoint replaces one file of a valid checkpoint with fuzzed
// bytes and recomputes the manifest (unless the manifest is the file
// replaced), so that verification passes and the decoders of config,
// vocabulary, state and both safetensors files see arbitrary input.
// LoadCheckpoint must return an error or a consistent checkpoint, never
// panic, and its errors must be one line.
func FuzzLoadCheckpoint(f *testing.F) {
	c := tinyConfig(f, "copy")
	c.Steps, c.SaveEvery, c.EvalEvery = 10, 10, 10
	mustRun(f, c)
	valid := readCheckpointFiles(f, filepath.Join(c.Out, stepDir(10)))
	for i, name := range fuzzFiles {
		f.Add(uint8(i), valid[name])
	}
	dir := f.TempDir() // rewritten by every input: the fuzz function never runs in parallel
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		name := fuzzFiles[int(which)%len(fuzzFiles)]
		files := maps.Clone(valid)
		files[name] = b
		writeCheckpointFiles(t, dir, files)
		if name == fileManifest {
			if err := os.WriteFile(filepath.Join(dir, fileManifest), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ck, err := LoadCheckpoint(dir)
		if err != nil {
			oneLine(t, err)
			return
		}
		// Loaded: the model and optimizer state must fit each other.
		for _, p := range ck.Model.Params() {
			if ck.Optim.Step == 0 {
				break
			}
			m, v := ck.Optim.M[p.Name()], ck.Optim.V[p.Name()]
			if m == nil || v == nil || !m.Shape().Eq(p.Shape()) || !v.Shape().Eq(p.Shape()) {
				t.Fatalf("loaded checkpoint: optimizer state does not fit parameter %s %v", p.Name(), p.Shape())
			}
		}
	})
}
