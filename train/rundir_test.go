package train

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
)

// TestNewRefusesForeignDir: a fresh run does not start in a directory
// that holds anything but nothing — a project folder with its own
// config.json, or a directory with a dot-tmp directory of the user's — and
// touches nothing in it; an empty directory is fine.
func TestNewRefusesForeignDir(t *testing.T) {
	for _, files := range []map[string]string{
		{"config.json": `{"mine": true}`, "go.mod": "module example.com/p\n"},
		{".tmp-notes/todo.txt": "keep me"},
		{"metrics.jsonl": "my own metrics\n"},
	} {
		c := tinyConfig(t, "copy")
		for name, body := range files {
			path := filepath.Join(c.Out, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tr, err := New(c)
		if err == nil {
			tr.Close()
			t.Fatalf("New in a directory holding %v = nil, want ErrNotRunDir", files)
		}
		if !errors.Is(err, ErrNotRunDir) {
			t.Errorf("New in a directory holding %v = %v, want ErrNotRunDir", files, err)
		}
		oneLine(t, err)
		entries, _ := os.ReadDir(c.Out)
		if len(entries) != len(files) {
			t.Errorf("New left %d entries in a directory of %d: %v", len(entries), len(files), entries)
		}
		for name, body := range files {
			if b, err := os.ReadFile(filepath.Join(c.Out, name)); err != nil || string(b) != body {
				t.Errorf("%s: %q, %v; want %q untouched", name, b, err, body)
			}
		}
	}
	c := tinyConfig(t, "copy") // an empty directory
	c.Steps = 10
	mustRun(t, c)
}

// TestPruneSparesForeignTemp: a save clears only the temporary
// directories qkv's own saves leave, not another dot-tmp directory
// someone put in the run.
func TestPruneSparesForeignTemp(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Steps, c.SaveEvery = 20, 10
	tr := mustNew(t, c)
	mine := filepath.Join(c.Out, ".tmp-mine")
	ours := filepath.Join(c.Out, tmpPrefix+stepDir(15)) // as an interrupted save leaves it
	for _, d := range []string{mine, ours} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a save removed %s: %v", mine, err)
	}
	if _, err := os.Stat(ours); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a save left %s (%v)", ours, err)
	}
}

// progressLog is a Progress's output, kept, with a hook on each step.
type progressLog struct {
	bytes.Buffer
	hook stepHook
}

func (p *progressLog) Write(b []byte) (int, error) {
	if p.hook != nil {
		p.hook.Write(b)
	}
	return p.Buffer.Write(b)
}

// TestDivergedBeforeFirstCheckpoint: a run that diverges before it saved
// anything names what was not finite — a finite loss is never called
// non-finite — says it holds no checkpoint rather than claiming one is
// intact, and leaves its metrics to the user: a fresh run will not start
// over them. With no metrics logged, the missing picture is a warning.
func TestDivergedBeforeFirstCheckpoint(t *testing.T) {
	// The default model at a learning rate of 1e5 reaches a finite loss
	// with a gradient norm that is not (step 10 of the default build).
	c := Default()
	c.Out = t.TempDir()
	c.Steps, c.LR, c.Schedule = 12, 1e5, "constant"
	var log progressLog
	tr := mustNew(t, c)
	tr.SetProgress(NewProgress(&log, false))
	_, err := tr.Run(t.Context())
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("Run = %v, want ErrNonFinite", err)
	}
	t.Log(err)
	oneLine(t, err)
	checkDivergedMessage(t, err)
	if strings.Contains(err.Error(), "intact") || !strings.Contains(err.Error(), "holds no checkpoint") {
		t.Errorf("Run error %q: want it to say the run holds no checkpoint, not that one is intact", err)
	}
	metrics, err := os.ReadFile(filepath.Join(c.Out, fileMetrics))
	if err != nil {
		t.Fatal(err)
	}
	again, err := New(c)
	if err == nil {
		again.Close()
		t.Fatal("New over a run that diverged before its first checkpoint = nil, want ErrHoldsRun")
	}
	if !errors.Is(err, ErrHoldsRun) || !strings.Contains(err.Error(), "before its first checkpoint") {
		t.Errorf("New over the failed run = %v, want ErrHoldsRun saying it stopped before its first checkpoint", err)
	}
	if b, _ := os.ReadFile(filepath.Join(c.Out, fileMetrics)); !bytes.Equal(b, metrics) {
		t.Errorf("metrics.jsonl changed by a refused New")
	}

	// A learning rate of 1e30 diverges at step 2, before the first log
	// line: nothing to draw, and the run says so.
	c = tinyConfig(t, "copy")
	c.LR, c.Schedule = 1e30, "constant"
	log = progressLog{}
	tr = mustNew(t, c)
	tr.SetProgress(NewProgress(&log, false))
	if _, err := tr.Run(t.Context()); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("Run(lr 1e30) = %v, want ErrNonFinite", err)
	} else {
		checkDivergedMessage(t, err)
	}
	_, err = os.Stat(filepath.Join(c.Out, CurvesFile))
	if warned := strings.Contains(log.String(), "warning: no "+filepath.Join(c.Out, CurvesFile)); err != nil && !warned {
		t.Errorf("lr 1e30: no %s and no warning; progress:\n%s", CurvesFile, log.String())
	}
}

var (
	lossNotFinite = regexp.MustCompile(`: loss (\S+) is not finite: `)
	normNotFinite = regexp.MustCompile(`: gradient norm (\S+) is not finite \(loss (\S+)\): `)
)

// checkDivergedMessage checks that a divergence error names a value that
// is not finite as such, and only that.
func checkDivergedMessage(t *testing.T, err error) {
	t.Helper()
	notFinite := func(s string) bool {
		x, perr := strconv.ParseFloat(s, 64)
		return perr == nil && (math.IsNaN(x) || math.IsInf(x, 0))
	}
	if m := lossNotFinite.FindStringSubmatch(err.Error()); m != nil {
		if !notFinite(m[1]) {
			t.Errorf("error %q calls a finite loss not finite", err)
		}
		return
	}
	if m := normNotFinite.FindStringSubmatch(err.Error()); m != nil {
		if !notFinite(m[1]) || notFinite(m[2]) {
			t.Errorf("error %q: want a gradient norm that is not finite beside a finite loss", err)
		}
		return
	}
	t.Errorf("error %q names neither a loss nor a gradient norm that is not finite", err)
}

// TestRunDirRemovedWhileTraining: a run directory removed while a trainer
// holds it, and made again by a second trainer, is the second's: the
// first stops at its next save instead of writing into it.
func TestRunDirRemovedWhileTraining(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Steps, c.SaveEvery, c.EvalEvery = 20, 10, 10
	var second *Trainer
	first := mustNew(t, c)
	first.SetProgress(NewProgress(stepHook(func(step int) {
		if step != 5 || second != nil {
			return
		}
		if err := os.RemoveAll(c.Out); err != nil {
			t.Fatal(err)
		}
		var err error
		if second, err = New(c); err != nil {
			t.Fatalf("New in the removed directory: %v", err)
		}
	}), false))
	_, err := first.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "removed or replaced") {
		t.Fatalf("first Run = %v, want it stopped: its directory was replaced", err)
	}
	if second == nil {
		t.Fatal("the hook did not run")
	}
	defer second.Close()
	if HasCheckpoint(c.Out) {
		t.Errorf("the first trainer saved into the second's directory")
	}
	if _, err := New(c); !errors.Is(err, ErrRunInUse) {
		t.Errorf("a third New while the second holds the directory = %v, want ErrRunInUse", err)
	}
}

// TestCheckpointPermissions: checkpoint directories get the same mode as
// the run directory (0755 less the umask), not MkdirTemp's 0700, and their
// files the mode of the run's other files.
func TestCheckpointPermissions(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Out = filepath.Join(c.Out, "run") // made by New
	c.Steps, c.SaveEvery = 10, 10
	mustRun(t, c)
	mode := func(path string) fs.FileMode {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	run, step := mode(c.Out), mode(filepath.Join(c.Out, stepDir(10)))
	if step != run {
		t.Errorf("checkpoint directory mode %v, run directory %v: want the same", step, run)
	}
	if f, m := mode(filepath.Join(c.Out, stepDir(10), fileModel)), mode(filepath.Join(c.Out, fileConfig)); f != m {
		t.Errorf("checkpoint file mode %v, run's config.json %v: want the same", f, m)
	}
}

// deniedFiles is osFiles that refuses to read anything under a directory,
// as the file system does another user's checkpoint it may not read (even
// when the tests run as root, which permissions do not stop).
type deniedFiles struct {
	osFiles
	under string
}

func (d deniedFiles) ReadFile(name string) ([]byte, error) {
	if strings.HasPrefix(name, d.under+string(filepath.Separator)) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return os.ReadFile(name)
}

// TestUnreadableCheckpoint: a checkpoint that cannot be read for want of
// permission is reported as such — not as damage, and not passed over
// for an older one.
func TestUnreadableCheckpoint(t *testing.T) {
	dir := savedRun(t, 20, 10)
	for _, which := range []string{Latest, Best} {
		var warnings []string
		ck, err := openRun(deniedFiles{under: filepath.Join(dir, stepDir(20))}, dir, which, func(msg string) { warnings = append(warnings, msg) })
		if err == nil {
			t.Fatalf("openRun(%s) loaded step %d from a run whose newest checkpoint is unreadable, want an error", which, ck.Step())
		}
		t.Log(err)
		oneLine(t, err)
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "damaged") {
			t.Errorf("openRun(%s) = %v, want permission denied, not damage", which, err)
		}
		if len(warnings) > 0 {
			t.Errorf("openRun(%s) warned %q", which, warnings)
		}
	}
	if os.Geteuid() != 0 { // the file system's own refusal, where it refuses
		path := filepath.Join(dir, stepDir(20), fileManifest)
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o644)
		if _, err := OpenRun(dir, Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) }); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("OpenRun with an unreadable manifest = %v, want permission denied", err)
		}
	}
}

// TestInterruptedAtLastStep: a signal during the last step, or the test
// evaluation after it, interrupts the run like one at any other step — it
// does not report a finished run — and resuming with no steps left runs
// the test.
func TestInterruptedAtLastStep(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Steps = 20
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tr := mustNew(t, c)
	tr.SetProgress(NewProgress(stepHook(func(step int) {
		if step == c.Steps {
			cancel()
		}
	}), false))
	res, err := tr.Run(ctx)
	if !errors.Is(err, ErrInterrupted) || res.Steps != c.Steps {
		t.Fatalf("Run = step %d, %v; want step %d, ErrInterrupted", res.Steps, err, c.Steps)
	}
	if lines := readMetrics(t, c.Out); strings.Contains(strings.Join(lines, "\n"), "test_loss") {
		t.Errorf("an interrupted run logged a test result")
	}
	res, err = mustResume(t, c.Out, c).Run(t.Context())
	if err != nil || res.Test.Examples != c.TestExamples {
		t.Fatalf("resumed Run = %+v, %v; want the test on %d examples", res, err, c.TestExamples)
	}
}

// pruningFiles is osFiles with a training process in between: the first
// time the reader opens a given file of a checkpoint, the trainer saves a
// newer checkpoint (a copy, here), points best.json at it and prunes the
// one being read, as a run with -keep 1 does.
type pruningFiles struct {
	osFiles
	t       *testing.T
	trigger string // the file whose first read sets it off
	newer   string // the checkpoint the trainer saves
	done    bool
}

func (p *pruningFiles) ReadFile(name string) ([]byte, error) {
	if name == p.trigger && !p.done {
		p.done = true
		dir := filepath.Dir(name)
		copyDir(p.t, dir, p.newer)
		if err := writeBest(osFiles{}, filepath.Dir(dir), &best{Step: 40}); err != nil {
			p.t.Fatal(err)
		}
		if err := removeDir(osFiles{}, dir); err != nil {
			p.t.Fatal(err)
		}
	}
	return os.ReadFile(name)
}

// TestOpenRunWhilePruned: a checkpoint pruned while it is read — between
// listing and reading, or between two of its files — is not damage:
// OpenRun warns of nothing and loads the checkpoint the trainer saved
// instead. The prune is injected at exact points, not raced.
func TestOpenRunWhilePruned(t *testing.T) {
	src := savedRun(t, 30, 10)
	for _, which := range []string{Latest, Best} {
		for _, file := range []string{fileManifest, fileModel} {
			dir := t.TempDir()
			copyDir(t, src, dir)
			for _, s := range []int{10, 20} { // -keep 1
				if err := os.RemoveAll(filepath.Join(dir, stepDir(s))); err != nil {
					t.Fatal(err)
				}
			}
			if err := writeBest(osFiles{}, dir, &best{Step: 30}); err != nil {
				t.Fatal(err)
			}
			fsys := &pruningFiles{t: t, trigger: filepath.Join(dir, stepDir(30), file), newer: filepath.Join(dir, stepDir(40))}
			ck, err := openRun(fsys, dir, which, func(msg string) { t.Errorf("openRun(%s, pruned at %s) warned: %s", which, file, msg) })
			if err != nil {
				t.Errorf("openRun(%s, pruned at %s) = %v", which, file, err)
				continue
			}
			if !fsys.done {
				t.Errorf("openRun(%s) never read %s", which, file)
			}
			if ck.Dir != fsys.newer {
				t.Errorf("openRun(%s, pruned at %s) loaded %s, want %s", which, file, ck.Dir, fsys.newer)
			}
		}
	}
}

// TestFitRefusesForeignDir: Fit into a directory holding someone's files
// is refused as New is, and leaves them alone.
func TestFitRefusesForeignDir(t *testing.T) {
	syms := data.Symbols(5)
	dir := t.TempDir()
	mine := filepath.Join(dir, "config.json")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := FitOptions{Optimization: Optimization{Batch: 8, Steps: 5}, Dir: dir}
	_, err := Fit(t.Context(), fitModel(t, syms, Transformer), reverseExamples(t, syms, 50, 1), opts)
	if !errors.Is(err, ErrNotRunDir) {
		t.Errorf("Fit into a directory of other files = %v, want ErrNotRunDir", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "mine" {
		t.Errorf("Fit wrote over %s", mine)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Fit left %v", entries)
	}
}

// TestResumeCheckpointDirSlash: a checkpoint directory named with a
// trailing slash resumes into its run directory, not into itself (where
// writing config.json would break the checkpoint's manifest).
func TestResumeCheckpointDirSlash(t *testing.T) {
	c := tinyConfig(t, "copy")
	c.Steps, c.SaveEvery = 10, 10
	mustRun(t, c)
	ck, err := OpenRun(filepath.Join(c.Out, stepDir(10))+string(filepath.Separator), Latest, func(msg string) { t.Errorf("OpenRun warned: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	if ck.RunDir() != filepath.Clean(c.Out) {
		t.Errorf("RunDir = %s, want %s", ck.RunDir(), c.Out)
	}
	c.Steps = 20
	tr, err := Resume(ck, c)
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(filepath.Join(c.Out, stepDir(20))); err != nil {
		t.Errorf("step 20: %v", err)
	}
}

// TestClaimRefusesForeignMarker: resuming a run made before runs were
// marked, into which someone put a file under the marker's name, does not
// write over that file.
func TestClaimRefusesForeignMarker(t *testing.T) {
	dir := savedRun(t, 10, 10)
	if err := os.Remove(filepath.Join(dir, fileRun)); err != nil { // as a run made before markers
		t.Fatal(err)
	}
	mine := filepath.Join(dir, fileRun)
	if err := os.WriteFile(mine, []byte(`{"mine": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := claim(dir); !errors.Is(err, ErrNotRunDir) {
		t.Errorf("claim = %v, want ErrNotRunDir", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != `{"mine": true}` {
		t.Errorf("claim wrote over %s: %s", mine, b)
	}
	if err := os.Remove(mine); err != nil {
		t.Fatal(err)
	}
	if err := claim(dir); err != nil || !hasMarker(osFiles{}, dir) {
		t.Errorf("claim of an unmarked run = %v, marked %v; want it marked", err, hasMarker(osFiles{}, dir))
	}
}
