package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/qkv-dev/qkv/nn"
)

// Resume continues the run whose checkpoint ck was loaded by OpenRun, with
// cfg: the checkpoint's config, in which only steps and the evaluation,
// logging and saving cadence may differ (see CheckResume). It locks the
// run directory as New does, and refuses a checkpoint that is no longer
// the run's newest good one, or data files whose contents changed since
// the run started. A data file is the run's if its contents are: given
// under another name, or not given at all, when the run's relative path
// means nothing from here (the run records where it read each file).
func Resume(ck *Checkpoint, cfg Config) (t *Trainer, err error) {
	return ResumeContext(context.Background(), ck, cfg)
}

// ResumeContext is Resume stopped by ctx, as NewContext is: reading the
// data and generating held-out sets stop soon after ctx is done, returning
// an error that wraps its cause.
func ResumeContext(ctx context.Context, ck *Checkpoint, cfg Config) (t *Trainer, err error) {
	cfg = cfg.inherit(ck.Config)
	if err := CheckResume(ck.Config, cfg); err != nil {
		return nil, err
	}
	if cfg.Steps < ck.state.Step {
		return nil, fmt.Errorf("train: %w", settingError("steps", "{-steps} %d is before the checkpoint's step %d", cfg.Steps, ck.state.Step))
	}
	dir := ck.RunDir()
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()
	if err := claim(dir); err != nil {
		return nil, err
	}
	// A newer checkpoint that loads would be lost by resuming an older
	// one; a damaged one, which OpenRun fell back past, is replaced when
	// the run reaches its step.
	steps, _ := listCheckpoints(osFiles{}, dir)
	for _, step := range steps {
		if step <= ck.state.Step {
			break
		}
		if _, err := LoadCheckpoint(filepath.Join(dir, stepDir(step))); err == nil {
			return nil, fmt.Errorf("train: %s has a newer checkpoint, %s, than %s: resume the run directory itself", dir, stepDir(step), ck.Dir)
		}
	}
	read := cfg // the config whose paths the data is read from
	var rec *heldOutRecord
	if cfg.Data != "" {
		if ck.state.HeldOut == "" {
			return nil, fmt.Errorf("train: %s was trained before runs recorded their held-out data; it cannot be resumed exactly (start a new run, or -init-from its model.safetensors)", ck.Dir)
		}
		if rec, err = readHeldOut(dir, ck.state.HeldOut); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		read.Data, read.Val, read.Test = rec.pathsFor(cfg)
	}
	if t, err = newTrainer(ctx, read); err != nil {
		return nil, err
	}
	// The run's config keeps its own spelling of its files.
	t.cfg.Data, t.cfg.Val, t.cfg.Test = ck.Config.Data, ck.Config.Val, ck.Config.Test
	t.lock = lock
	// A changed data file is named as such before its vocabulary, which
	// a renamed token changes, is compared.
	if rec != nil {
		if err := rec.checkFiles(t.ds.Files); err != nil {
			return nil, fmt.Errorf("train: %w: resuming would train on other data", err)
		}
	}
	if !equalTokens(t.vocab, ck.Vocab) {
		return nil, fmt.Errorf("train: %s: the vocabulary differs from the data's (did the data file change?)", ck.Dir)
	}
	if err := t.restore(ck); err != nil {
		return nil, err
	}
	t.dir = dir
	return t, nil
}

// restore puts t where the checkpoint ck left its run: weights, optimizer
// moments, dropout generator, data stream and step.
func (t *Trainer) restore(ck *Checkpoint) error {
	// The checkpoint's model is verified; take its weights by name.
	if err := nn.LoadTensors(nn.ParamTensors(ck.Model.Params()), t.model.Params()); err != nil {
		return fmt.Errorf("train: %s: %w", ck.Dir, err)
	}
	if err := t.opt.SetState(ck.Optim, t.model.Params()); err != nil {
		return fmt.Errorf("train: %s: %w", ck.Dir, err)
	}
	if err := t.dropPCG.UnmarshalBinary(ck.state.DropoutRNG); err != nil {
		return fmt.Errorf("train: %s: dropout generator: %w", ck.Dir, err)
	}
	if err := t.ds.Train.UnmarshalBinary(ck.state.Data); err != nil {
		return fmt.Errorf("train: %s: data stream: %w", ck.Dir, err)
	}
	t.st = ck.state
	t.saved = ck.Dir
	return nil
}

func equalTokens(a, b Vocab) bool {
	return a.Kind == b.Kind && slices.Equal(a.In, b.In) && slices.Equal(a.Out, b.Out)
}

// SameOnResume reports whether setting the config key to value on resuming
// run leaves the run as it is: value is the run's own, or the automatic
// value from which the run resolved its own (CheckResume), or another
// path to a data file, whose contents Resume checks.
func SameOnResume(run Config, key, value string) bool {
	var m map[string]any
	_ = json.Unmarshal(run.JSON(), &m) // our own JSON: cannot fail
	if _, ok := m[key].(string); ok {
		m[key] = value
	} else {
		var v any
		if json.Unmarshal([]byte(value), &v) != nil {
			return false
		}
		m[key] = v // a number or a boolean, as the key holds
	}
	b, err := json.Marshal(m)
	if err != nil {
		return false
	}
	var next Config
	if err := DecodeConfig(bytes.NewReader(b), &next); err != nil {
		return false
	}
	return CheckResume(run, next) == nil
}

// inherit takes the values a run resolved when it started (see resolve)
// for the settings c leaves automatic.
func (c Config) inherit(run Config) Config {
	if c.Warmup == AutoWarmup {
		c.Warmup = run.Warmup
	}
	if c.Data != "" && c.Len == 0 {
		c.Len = run.Len
	}
	c.Architecture.resolve() // what a run resolved, it resolved alike
	return c
}

// resumable lists the config keys whose settings may differ between a run
// and its resumption: how long it runs, the cadence of evaluation, logging
// and saving, how many checkpoints it keeps, and its directory. Every other
// setting defines the run.
var resumable = []string{"steps", "eval_every", "log_every", "save_every", "keep", "out"}

// Resumable reports whether the setting with config key may change when a
// run is resumed.
func Resumable(key string) bool { return slices.Contains(resumable, key) }

// ResumableKeys returns the config keys of the settings that may change on
// resume, apart from the run directory, for messages.
func ResumableKeys() []string {
	return slices.DeleteFunc(slices.Clone(resumable), func(k string) bool { return k == "out" })
}

// dataKeys name a file run's files: on resume a path may be spelt
// otherwise, or given from another directory, as long as the file is
// present where the run had one and its contents are the run's, which
// Resume checks against the run's record.
var dataKeys = []string{"data", "val", "test"}

// CheckResume reports a setting of next that contradicts the checkpointed
// run prev: any but those Resumable allows to change. A value the run
// resolved when it started may be restated as the automatic value it was
// given (warmup -1, len 0 for a data file, directions 0 for an LSTM).
func CheckResume(prev, next Config) error {
	var pm, nm map[string]any
	_ = json.Unmarshal(prev.JSON(), &pm) // our own JSON: cannot fail
	_ = json.Unmarshal(next.inherit(prev).JSON(), &nm)
	for _, k := range sortedKeys(pm, nm) {
		if slices.Contains(dataKeys, k) && isEmpty(pm[k]) == isEmpty(nm[k]) {
			continue
		}
		if !Resumable(k) && fmt.Sprint(pm[k]) != fmt.Sprint(nm[k]) {
			return fmt.Errorf("train: %s %v contradicts the checkpoint's %v (only %s may change on resume)", k, nm[k], pm[k], list(ResumableKeys()))
		}
	}
	return nil
}

// isEmpty reports a config value that is absent or "".
func isEmpty(v any) bool { return v == nil || v == "" }

// list joins words as English does: "a, b and c", or with another
// conjunction ("a, b or c").
func list(words []string, conj ...string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	and := "and"
	if len(conj) > 0 {
		and = conj[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + and + " " + words[len(words)-1]
}

func sortedKeys(ms ...map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
