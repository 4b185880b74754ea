// Command train trains a transformer encoder on a sequence task or a data
// file, checkpointing as it goes, and reports held-out accuracy.
//
//	go run ./cmd/train                       # the reverse task, default settings
//	go run ./cmd/train -task sort            # another task's preset
//	go run ./cmd/train -data train.tsv       # your own data
//	go run ./cmd/train -resume checkpoints/reverse -steps 4000
//
// Run with -h for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/term"

	"github.com/qkv-dev/qkv/internal/cli"
	"github.com/qkv-dev/qkv/train"
)

// Exit statuses.
const (
	exitError       = 1
	exitUsage       = 2
	exitHangup      = 129 // 128 + SIGHUP
	exitInterrupted = 130 // 128 + SIGINT
	exitTerminated  = 143 // 128 + SIGTERM
)

// gcPercent is the collector's setting unless GOGC says otherwise. A run
// allocates its graphs once and little per step, so a low setting costs a
// few short collections, and it keeps the memory a checkpoint's encoding or
// a long run's per-step garbage adds to a tenth of the live heap instead of
// as much again (Go's default, 100).
const gcPercent = 10

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	// A second signal kills the process: checkpoints are atomic. Setting
	// up (reading the data, generating held-out sets, building the graphs)
	// watches ctx too, and stops within a second.
	ctx := cli.NotifyContext(func(sig os.Signal) {
		fmt.Fprintf(os.Stderr, "\n%v: stopping at the next step and saving (again to quit at once)\n", sig)
	})
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	code := exitCode(err)
	if code == exitUsage || code == exitError {
		fmt.Fprintln(os.Stderr, errorLine(err))
	}
	os.Exit(code)
}

// errorLine formats err as the one line main prints: prefixed with the
// command's name once, its lines joined, and a setting train names by its
// config key named by its flag.
func errorLine(err error) string {
	msg := err.Error()
	var se *train.SettingError
	if errors.As(err, &se) {
		msg = strings.Replace(msg, se.Error(), se.Render(asFlag), 1)
	}
	msg = strings.ReplaceAll(msg, "\n", "; ")
	if !strings.HasPrefix(msg, "train: ") {
		msg = "train: " + msg
	}
	return msg
}

// usageError marks bad input: flags, config, data.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ue usageError
	var se cli.SignalError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &se):
		return se.Status()
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitError
}

// bindFlags binds every Config flag to its field of c, with c's values as
// the defaults -h shows.
func bindFlags(fs *flag.FlagSet, c *train.Config) {
	fs.StringVar(&c.Task, "task", c.Task, "generated task: copy, reverse, sort, histogram, recall, lag (lag<k> for distance k), runparity, parity or dyck (its preset settings apply)")
	fs.StringVar(&c.Data, "data", c.Data, "training `file`: one example per line, input tokens TAB target tokens")
	fs.StringVar(&c.Val, "val", c.Val, "validation `file` for -data (default: hold out 10% of -data)")
	fs.StringVar(&c.Test, "test", c.Test, "test `file` for -data (default: hold out another 10% of -data)")
	fs.IntVar(&c.Symbols, "vocab", c.Symbols, "number of content symbols of a generated task")
	fs.IntVar(&c.MinLen, "min-len", c.MinLen, "shortest training sequence")
	fs.IntVar(&c.Len, "len", c.Len, "longest sequence the model takes (with -data, default: the longest line of the data, -val and -test files)")
	fs.IntVar(&c.ValExamples, "val-examples", c.ValExamples, "validation examples of a generated task")
	fs.IntVar(&c.TestExamples, "test-examples", c.TestExamples, "test examples of a generated task")
	c.Architecture.BindFlags(fs) // -model, -d-model, -layers, … and each architecture's own
	fs.IntVar(&c.Batch, "batch", c.Batch, "training batch size")
	fs.IntVar(&c.Steps, "steps", c.Steps, "total optimizer steps")
	fs.Float64Var(&c.LR, "lr", c.LR, "peak learning rate")
	fs.Float64Var(&c.MinLR, "min-lr", c.MinLR, "final learning rate of the cosine schedule")
	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate schedule: constant, cosine (linear warmup, cosine decay) or noam (inverse square root)")
	fs.IntVar(&c.Warmup, "warmup", c.Warmup, "warmup steps (-1: min(100, steps/10))")
	fs.Float64Var(&c.Clip, "clip", c.Clip, "clip gradients to this global norm (0: no clipping)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "decoupled weight decay (0: plain Adam; above 0: AdamW)")
	fs.Float64Var(&c.Beta1, "beta1", c.Beta1, "Adam β₁")
	fs.Float64Var(&c.Beta2, "beta2", c.Beta2, "Adam β₂")
	fs.Float64Var(&c.AdamEps, "adam-eps", c.AdamEps, "Adam ε")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of every random generator")
	fs.IntVar(&c.EvalEvery, "eval-every", c.EvalEvery, "validate every N steps")
	fs.IntVar(&c.LogEvery, "log-every", c.LogEvery, "log metrics every N steps")
	fs.IntVar(&c.SaveEvery, "save-every", c.SaveEvery, "checkpoint every N steps")
	fs.IntVar(&c.Keep, "keep", c.Keep, "checkpoints to keep besides the best")
	fs.StringVar(&c.Out, "out", c.Out, "run `dir`ectory (default checkpoints/<task>, or a fresh checkpoints/<task>-N if that holds a run)")
}

// key is the config key of a Config flag: its name with _ for -.
func key(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// asFlag names a setting in a message by its flag: "d-model", or "-data"
// where the sentence names the option itself.
func asFlag(key string, dash bool) string {
	if dash {
		return "-" + flagName(key)
	}
	return flagName(key)
}

// flagName is the flag of a config key.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// given holds the Config flags given on the command line, as parsed.
type given struct {
	fs  *flag.FlagSet
	set map[string]bool
}

// apply sets the given flags on c, in the order of the flag set, and calls
// check (if not nil) with each flag's value before and after; every flag
// is set by its own string, so no flag's type needs a case here.
func (g given) apply(c *train.Config, check func(name, was, now string) error) error {
	onto := flag.NewFlagSet("", flag.ContinueOnError)
	bindFlags(onto, c)
	var err error
	g.fs.Visit(func(f *flag.Flag) {
		dst := onto.Lookup(f.Name)
		if err != nil || dst == nil {
			return
		}
		was := dst.Value.String()
		if err = dst.Value.Set(f.Value.String()); err == nil && check != nil {
			err = check(f.Name, was, dst.Value.String())
		}
	})
	return err
}

// options are the flags that are not Config fields.
type options struct {
	config   string
	file     *train.ConfigFile // the -config file, read once
	preset   train.Config      // the task's preset (or the defaults), before the file and flags
	resume   string
	initFrom string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	defer func() {
		// Stopped while setting up: no step to save, and the run directory
		// a fresh run made is gone again (train.Trainer.Close).
		cause := context.Cause(ctx)
		if err != nil && cause != nil && err != cause && errors.Is(err, cause) {
			fmt.Fprintf(stderr, "%v: stopped before training began; nothing was trained\n", cause)
			err = cause
		}
	}()
	cfg, opts, g, err := parse(ctx, args, stderr)
	if err != nil {
		return err
	}
	var tr *train.Trainer
	if opts.resume != "" {
		ck, err := train.OpenRun(opts.resume, train.Latest, func(msg string) { fmt.Fprintln(stderr, "train: "+msg) })
		if err != nil {
			return usageError{err}
		}
		next := ck.Config
		if err := overlay(&next, cfg, g, opts); err != nil {
			return err
		}
		if tr, err = train.ResumeContext(ctx, ck, next); err != nil {
			return usageError{err}
		}
		defer tr.Close()
		fmt.Fprintf(stderr, "resuming %s at step %d of %d\n", ck.Dir, ck.Step(), next.Steps)
	} else {
		// Only a fresh run is validated as parsed: a resumed run's settings
		// are the checkpoint's, which train.Resume validates with the
		// flags applied.
		if err := cfg.Validate(); err != nil {
			return usageError{err}
		}
		if err := foreignFlags(cfg, g); err != nil {
			return usageError{err}
		}
		if err := inert(cfg, g, opts); err != nil {
			return usageError{err}
		}
		if tr, err = newRun(ctx, cfg, cfg.RunDir()); err != nil {
			return usageError{err}
		}
		defer tr.Close()
		if opts.initFrom != "" {
			if err := initFrom(tr, opts.initFrom); err != nil {
				return usageError{err}
			}
		}
	}
	fmt.Fprintf(stderr, "config:\n%s", tr.Config().JSON())
	for _, note := range tr.Notes() {
		fmt.Fprintln(stderr, "data: "+note)
	}
	fmt.Fprintf(stderr, "model: %s, %d parameters\n", tr.Config().Model, tr.Model().NumParams())
	fmt.Fprintf(stderr, "optimizer: %s\n", tr.Config().Optimizer())
	fmt.Fprintf(stderr, "run directory: %s\n", tr.Dir())
	interactive := false
	if f, ok := stderr.(*os.File); ok && os.Getenv("CI") == "" {
		interactive = term.IsTerminal(int(f.Fd()))
	}
	tr.SetProgress(train.NewProgress(stderr, interactive))
	res, err := tr.Run(ctx)
	if errors.Is(err, train.ErrInterrupted) && res.Dir != "" {
		fmt.Fprintf(stderr, "stopped at step %d; saved in %s\nresume with: %s -resume %s\n", res.Steps, res.Dir, cli.Command("train", "train"), cli.Quote(res.Dir))
		return context.Cause(ctx)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "held-out test (best checkpoint, step %d): token accuracy %.2f%%, sequence accuracy %.2f%% on %d examples, loss %.4f\nsaved run in %s; evaluate with: %s -ckpt %s\n",
		res.Best, 100*res.Test.TokenAccuracy, 100*res.Test.SequenceAccuracy, res.Test.Examples, res.Test.Loss, res.Dir, cli.Command("train", "eval"), cli.Quote(res.Dir))
	if err != nil {
		// The run is saved; only the report is lost, and the exit status
		// must say so.
		return fmt.Errorf("writing the result (the run is saved in %s): %w", res.Dir, err)
	}
	return nil
}

// foreignFlags refuses a flag of another architecture than the one being
// trained (-heads for an lstm), which would otherwise be silently ignored.
func foreignFlags(cfg train.Config, g given) error {
	var err error
	g.fs.Visit(func(f *flag.Flag) {
		if arch, ok := train.ForeignKey(cfg.Model, key(f.Name)); ok && err == nil {
			own := cfg.Architecture.Keys()
			for i, k := range own {
				own[i] = "-" + flagName(k)
			}
			err = fmt.Errorf("-%s is %s setting; %s has none (its settings are %s)", f.Name, article(arch), article(cfg.Model), strings.Join(own, ", "))
		}
	})
	return err
}

// article puts a or an before an architecture's name: an before a vowel,
// and before an initialism without vowels read letter by letter whose
// first letter's name starts with one (an lstm, an rnn, a gru).
func article(a train.Arch) string {
	name := a.String()
	initialism := !strings.ContainsAny(name, "aeiouy")
	if strings.ContainsRune("aeiou", rune(name[0])) || initialism && strings.ContainsRune("fhlmnrsx", rune(name[0])) {
		return "an " + a.String()
	}
	return "a " + a.String()
}

// taskOnly are the flags of a generated task, which a data file has no
// use for.
var taskOnly = []string{"vocab", "min-len", "val-examples", "test-examples"}

// inert refuses what foreignFlags cannot see: a -config key of another
// architecture, and a generated task's setting (flag or key) for a data
// file, which would be silently ignored. A flag is refused whenever given;
// a -config key when it changes the preset's value, so that a run's own
// config.json (which lists every key) still works as a -config.
func inert(cfg train.Config, g given, opts options) error {
	if opts.file != nil {
		for _, k := range opts.file.Keys() {
			if arch, ok := train.ForeignKey(cfg.Model, k); ok && opts.file.Sets(k, opts.preset) {
				return fmt.Errorf("-config %s: key %q is %s setting; %s has none", opts.file.Path(), k, article(arch), article(cfg.Model))
			}
		}
	}
	if cfg.Data == "" {
		return nil
	}
	const why = "is a generated task's setting; with -data the tokens, lengths and held-out sets come from the files (-len caps the length, -val and -test give held-out files)"
	for _, name := range taskOnly {
		if g.set[name] {
			return fmt.Errorf("-%s %s", name, why)
		}
		if opts.file != nil && opts.file.Sets(key(name), opts.preset) {
			return fmt.Errorf("-config %s: key %q %s", opts.file.Path(), key(name), why)
		}
	}
	return nil
}

// parse reads the flags: preset of the task, then the -config file, then
// flags given on the command line, each overriding the one before.
func parse(ctx context.Context, args []string, stderr io.Writer) (train.Config, options, given, error) {
	var opts options
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	scratch := train.Default()
	bindFlags(fs, &scratch)
	fs.StringVar(&opts.config, "config", "", "JSON config `file` (keys as in a run's config.json; flags override it)")
	fs.StringVar(&opts.resume, "resume", "", "continue the run in `dir` from its newest good checkpoint")
	fs.StringVar(&opts.initFrom, "init-from", "", "start a new run from the weights in `file`.safetensors")
	set, err := cli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprintf(w, "usage: train [flags]\n\nTrains a transformer encoder and saves checkpoints. The defaults below are\nthe reverse task's; -task NAME starts from that task's preset instead, a\n-config file overrides the preset, and flags override both. Flags:\n")
	})
	if errors.Is(err, flag.ErrHelp) {
		return train.Config{}, opts, given{}, err
	}
	if err != nil {
		return train.Config{}, opts, given{}, usageError{err}
	}
	if fs.NArg() > 0 {
		return train.Config{}, opts, given{}, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	g := given{fs: fs, set: set}

	// The task decides the preset: from the flag, else the config file.
	var file train.Config
	if opts.config != "" {
		if opts.file, err = train.OpenConfigFileContext(ctx, opts.config); err != nil {
			return train.Config{}, opts, given{}, usageError{err}
		}
		if err := opts.file.Overlay(&file); err != nil {
			return train.Config{}, opts, given{}, usageError{err}
		}
	}
	cfg := train.Default()
	task := cfg.Task
	switch {
	case set["task"]:
		task = scratch.Task
	case file.Task != "":
		task = file.Task
	}
	if set["data"] || file.Data != "" {
		task = ""
	}
	if task != "" {
		if cfg, err = train.Preset(task); err != nil {
			return train.Config{}, opts, given{}, usageError{err}
		}
	} else {
		// A data file's len defaults to its longest line.
		cfg.Task, cfg.Len = "", 0
	}
	opts.preset = cfg
	if opts.file != nil {
		if err := opts.file.Overlay(&cfg); err != nil {
			return train.Config{}, opts, given{}, usageError{err}
		}
	}
	if err := g.apply(&cfg, nil); err != nil {
		return train.Config{}, opts, given{}, usageError{err}
	}
	return cfg, opts, g, nil
}

// overlay applies the flags given on the command line (and a -config file)
// to a resumed run's config; a flag that changes a setting train.Resumable
// does not allow is an error here, in flags, and CheckResume rejects the
// rest.
func overlay(next *train.Config, parsed train.Config, g given, opts options) error {
	if opts.initFrom != "" {
		return usageError{errors.New("-init-from starts a new run; it cannot be combined with -resume")}
	}
	recorded := next.Out
	if opts.file != nil {
		if err := opts.file.Overlay(next); err != nil {
			return usageError{err}
		}
	}
	if g.set["out"] && filepath.Clean(parsed.Out) != filepath.Clean(opts.resume) {
		return usageError{fmt.Errorf("-out %s with -resume %s: a resumed run stays in its own directory (copy it first to continue elsewhere)", parsed.Out, opts.resume)}
	}
	if !g.set["out"] && next.Out != recorded && filepath.Clean(next.Out) != filepath.Clean(opts.resume) {
		// The run's own config.json names its directory, which is fine.
		return usageError{fmt.Errorf("-config %s sets out %q with -resume %s: a resumed run stays in its own directory (drop the key, or copy the run first to continue elsewhere)", opts.file.Path(), next.Out, opts.resume)}
	}
	before := *next // describe reads the checkpoint's data and task
	err := g.apply(next, func(name, was, now string) error {
		if name == "out" || now == was || train.Resumable(key(name)) || train.SameOnResume(before, key(name), now) {
			return nil
		}
		return fmt.Errorf("-%s %s contradicts the checkpoint's %s (on -resume only %s may change)", name, now, describe(name, was, &before), resumableFlags())
	})
	if err != nil {
		return usageError{err}
	}
	next.Out = before.Out // the run stays in its directory, spelt as it was
	return nil
}

// resumableFlags lists the flags train.Resumable allows to change, for
// messages: "-steps, -eval-every, … and -keep".
func resumableFlags() string {
	keys := train.ResumableKeys()
	for i, k := range keys {
		keys[i] = "-" + flagName(k)
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
}

// describe renders a checkpoint's setting for an error message; an empty
// data or task says what the run trained on instead.
func describe(name, value string, c *train.Config) string {
	switch {
	case value != "":
		return value
	case name == "data" || name == "val" || name == "test":
		if c.Data == "" {
			return "generated task " + c.Task
		}
		return "none"
	case name == "task":
		return "data file " + c.Data
	}
	return `""`
}

// newRun starts a fresh run of cfg. Without -out it takes dir, or dir-2,
// dir-3, … when that holds a run (even a failed one), holds anything else,
// or another process is training there, so a second run never touches
// the first's files; an -out that is taken is an error.
func newRun(ctx context.Context, cfg train.Config, dir string) (*train.Trainer, error) {
	if cfg.Out != "" {
		tr, err := train.NewContext(ctx, cfg)
		if errors.Is(err, train.ErrHoldsRun) && train.HasCheckpoint(cfg.Out) {
			return nil, fmt.Errorf("%s already holds a run: resume it with -resume %s, or choose another -out", cfg.Out, cli.Quote(cfg.Out))
		}
		return tr, err
	}
	for n := 1; ; n++ {
		cfg.Out = dir
		if n > 1 {
			cfg.Out = fmt.Sprintf("%s-%d", dir, n)
		}
		tr, err := train.NewContext(ctx, cfg)
		if errors.Is(err, train.ErrHoldsRun) || errors.Is(err, train.ErrRunInUse) || errors.Is(err, train.ErrNotRunDir) {
			continue
		}
		return tr, err
	}
}

// initFrom loads starting weights from a safetensors file.
func initFrom(tr *train.Trainer, path string) error {
	if err := tr.InitFrom(path); err != nil {
		return fmt.Errorf("-init-from %w", err)
	}
	return nil
}
