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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/qkv-dev/qkv/nn"
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

// stopSignals stop a run at the next step, after saving: Ctrl-C, kill, and
// a closed terminal.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	ctx, stop := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	go func() {
		sig := <-sigs
		// A second signal kills the process: checkpoints are atomic. Reset
		// before saying so, or a signal sent on reading the message could
		// land while it is still caught, and be lost.
		signal.Reset(stopSignals...)
		fmt.Fprintf(os.Stderr, "\n%v: stopping at the next step and saving (again to quit at once)\n", sig)
		stop(signalError{sig})
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	code := exitCode(err)
	if code == exitUsage || code == exitError {
		fmt.Fprintln(os.Stderr, errorLine(err))
	}
	os.Exit(code)
}

// errorLine formats err as the one line main prints: prefixed with the
// command's name once, its lines joined.
func errorLine(err error) string {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if !strings.HasPrefix(msg, "train: ") {
		msg = "train: " + msg
	}
	return msg
}

type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return e.sig.String() }

// usageError marks bad input: flags, config, data.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ue usageError
	var se signalError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &se):
		switch se.sig {
		case syscall.SIGTERM:
			return exitTerminated
		case syscall.SIGHUP:
			return exitHangup
		}
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitError
}

// flagSpec binds one flag to one Config field.
type flagSpec struct {
	name, usage string
	field       func(c *train.Config) any // pointer to the field
}

var flagSpecs = []flagSpec{
	{"task", "generated task: copy, reverse, sort, histogram, recall, parity or dyck (its preset settings apply)", func(c *train.Config) any { return &c.Task }},
	{"data", "training `file`: one example per line, input tokens TAB target tokens", func(c *train.Config) any { return &c.Data }},
	{"val", "validation `file` for -data (default: hold out 10% of -data)", func(c *train.Config) any { return &c.Val }},
	{"test", "test `file` for -data (default: hold out another 10% of -data)", func(c *train.Config) any { return &c.Test }},
	{"vocab", "number of content symbols of a generated task", func(c *train.Config) any { return &c.Symbols }},
	{"min-len", "shortest training sequence", func(c *train.Config) any { return &c.MinLen }},
	{"len", "longest sequence the model takes (with -data, default: the longest line of the data, -val and -test files)", func(c *train.Config) any { return &c.Len }},
	{"val-examples", "validation examples of a generated task", func(c *train.Config) any { return &c.ValExamples }},
	{"test-examples", "test examples of a generated task", func(c *train.Config) any { return &c.TestExamples }},
	{"d-model", "model width d_model", func(c *train.Config) any { return &c.DModel }},
	{"heads", "attention heads (must divide d-model)", func(c *train.Config) any { return &c.Heads }},
	{"layers", "encoder layers", func(c *train.Config) any { return &c.Layers }},
	{"d-ff", "feed-forward hidden width d_ff", func(c *train.Config) any { return &c.DFF }},
	{"dropout", "dropout rate on attention weights, hidden layers, residual branches and embeddings", func(c *train.Config) any { return &c.Dropout }},
	{"activation", "feed-forward activation: relu or gelu", func(c *train.Config) any { return &c.Activation }},
	{"norm", "layer-norm placement: post (the paper) or pre", func(c *train.Config) any { return &c.Norm }},
	{"pos", "positional encoding: sinusoidal, learned or none", func(c *train.Config) any { return &c.Positional }},
	{"dtype", "float32 or float64", func(c *train.Config) any { return &c.Dtype }},
	{"batch", "training batch size", func(c *train.Config) any { return &c.Batch }},
	{"steps", "total optimizer steps", func(c *train.Config) any { return &c.Steps }},
	{"lr", "peak learning rate", func(c *train.Config) any { return &c.LR }},
	{"min-lr", "final learning rate of the cosine schedule", func(c *train.Config) any { return &c.MinLR }},
	{"schedule", "learning-rate schedule: constant, cosine (linear warmup, cosine decay) or noam (inverse square root)", func(c *train.Config) any { return &c.Schedule }},
	{"warmup", "warmup steps (-1: min(100, steps/10))", func(c *train.Config) any { return &c.Warmup }},
	{"clip", "clip gradients to this global norm (0: no clipping)", func(c *train.Config) any { return &c.Clip }},
	{"weight-decay", "AdamW decoupled weight decay", func(c *train.Config) any { return &c.WeightDecay }},
	{"beta1", "Adam β₁", func(c *train.Config) any { return &c.Beta1 }},
	{"beta2", "Adam β₂", func(c *train.Config) any { return &c.Beta2 }},
	{"adam-eps", "Adam ε", func(c *train.Config) any { return &c.AdamEps }},
	{"seed", "seed of every random generator", func(c *train.Config) any { return &c.Seed }},
	{"eval-every", "validate every N steps", func(c *train.Config) any { return &c.EvalEvery }},
	{"log-every", "log metrics every N steps", func(c *train.Config) any { return &c.LogEvery }},
	{"save-every", "checkpoint every N steps", func(c *train.Config) any { return &c.SaveEvery }},
	{"keep", "checkpoints to keep besides the best", func(c *train.Config) any { return &c.Keep }},
	{"out", "run `dir`ectory (default checkpoints/<task>, or a fresh checkpoints/<task>-N if that holds a run)", func(c *train.Config) any { return &c.Out }},
}

// options are the flags that are not Config fields.
type options struct {
	config   string
	resume   string
	initFrom string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, opts, set, err := parse(args, stderr)
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
		if err := overlay(&next, cfg, set, opts); err != nil {
			return err
		}
		if tr, err = train.Resume(ck, next); err != nil {
			return usageError{err}
		}
		defer tr.Close()
		fmt.Fprintf(stderr, "resuming %s at step %d of %d\n", ck.Dir, ck.State.Step, next.Steps)
	} else {
		// Only a fresh run is validated as parsed: a resumed run's settings
		// are the checkpoint's, which train.Resume validates with the
		// flags applied.
		if err := cfg.Validate(); err != nil {
			return usageError{err}
		}
		if tr, err = newRun(cfg, cfg.RunDir()); err != nil {
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
	fmt.Fprintf(stderr, "run directory: %s\n", tr.Dir())
	interactive := false
	if f, ok := stderr.(*os.File); ok && os.Getenv("CI") == "" {
		interactive = term.IsTerminal(int(f.Fd()))
	}
	tr.SetProgress(train.NewProgress(stderr, interactive))
	res, err := tr.Run(ctx)
	if errors.Is(err, train.ErrInterrupted) {
		fmt.Fprintf(stderr, "stopped at step %d; saved in %s\nresume with: go run ./cmd/train -resume %s\n", res.Steps, res.Dir, res.Dir)
		return context.Cause(ctx)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "held-out test (best checkpoint, step %d): token accuracy %.2f%%, sequence accuracy %.2f%% on %d examples, loss %.4f\nsaved run in %s; evaluate with: go run ./cmd/eval -ckpt %s\n",
		res.Best, 100*res.Test.TokenAccuracy, 100*res.Test.SequenceAccuracy, res.Test.Examples, res.Test.Loss, res.Dir, res.Dir)
	if err != nil {
		// The run is saved; only the report is lost, and the exit status
		// must say so.
		return fmt.Errorf("writing the result (the run is saved in %s): %w", res.Dir, err)
	}
	return nil
}

// parse reads the flags: preset of the task, then the -config file, then
// flags given on the command line, each overriding the one before.
func parse(args []string, stderr io.Writer) (train.Config, options, map[string]bool, error) {
	var opts options
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scratch := train.Default()
	for _, f := range flagSpecs {
		switch p := f.field(&scratch).(type) {
		case *string:
			fs.StringVar(p, f.name, *p, f.usage)
		case *int:
			fs.IntVar(p, f.name, *p, f.usage)
		case *float64:
			fs.Float64Var(p, f.name, *p, f.usage)
		case *uint64:
			fs.Uint64Var(p, f.name, *p, f.usage)
		}
	}
	fs.StringVar(&opts.config, "config", "", "JSON config `file` (keys as in a run's config.json; flags override it)")
	fs.StringVar(&opts.resume, "resume", "", "continue the run in `dir` from its newest good checkpoint")
	fs.StringVar(&opts.initFrom, "init-from", "", "start a new run from the weights in `file`.safetensors")
	// The flag package calls Usage on -h and on every error; bad input
	// gets its one-line error alone, so only -h prints the flags.
	fs.Usage = func() {}
	usage := func() {
		fmt.Fprintf(stderr, "usage: train [flags]\n\nTrains a transformer encoder and saves checkpoints. The defaults below are\nthe reverse task's; -task NAME starts from that task's preset instead, a\n-config file overrides the preset, and flags override both. Flags:\n")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return train.Config{}, opts, nil, err
		}
		return train.Config{}, opts, nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return train.Config{}, opts, nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// The task decides the preset: from the flag, else the config file.
	var file train.Config
	if opts.config != "" {
		if err := train.ReadConfigFile(opts.config, &file); err != nil {
			return train.Config{}, opts, nil, usageError{err}
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
		var err error
		if cfg, err = train.Preset(task); err != nil {
			return train.Config{}, opts, nil, usageError{err}
		}
	} else {
		// A data file's len defaults to its longest line.
		cfg.Task, cfg.Len = "", 0
	}
	if opts.config != "" {
		if err := train.ReadConfigFile(opts.config, &cfg); err != nil {
			return train.Config{}, opts, nil, usageError{err}
		}
	}
	for _, f := range flagSpecs {
		if set[f.name] {
			copyField(f.field(&cfg), f.field(&scratch))
		}
	}
	return cfg, opts, set, nil
}

// overlay applies the flags given on the command line (and a -config file)
// to a resumed run's config; CheckResume then rejects any that contradict it.
func overlay(next *train.Config, parsed train.Config, set map[string]bool, opts options) error {
	if opts.initFrom != "" {
		return usageError{errors.New("-init-from starts a new run; it cannot be combined with -resume")}
	}
	if opts.config != "" {
		if err := train.ReadConfigFile(opts.config, next); err != nil {
			return usageError{err}
		}
	}
	if set["out"] && filepath.Clean(parsed.Out) != filepath.Clean(opts.resume) {
		return usageError{fmt.Errorf("-out %s with -resume %s: a resumed run stays in its own directory (copy it first to continue elsewhere)", parsed.Out, opts.resume)}
	}
	for _, f := range flagSpecs {
		if !set[f.name] || f.name == "out" {
			continue
		}
		before := *next // describe reads the checkpoint's data and task
		was := fmt.Sprint(fieldValue(f.field(next)))
		copyField(f.field(next), f.field(&parsed))
		if now := fmt.Sprint(fieldValue(f.field(next))); now != was && !resumable[f.name] {
			return usageError{fmt.Errorf("-%s %s contradicts the checkpoint's %s (on -resume only -steps, -eval-every, -log-every, -save-every and -keep may change)", f.name, now, describe(f.name, was, &before))}
		}
	}
	return nil
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

// resumable lists the flags whose settings may change on -resume; the rest
// define the run (see train.CheckResume).
var resumable = map[string]bool{"steps": true, "eval-every": true, "log-every": true, "save-every": true, "keep": true}

// fieldValue dereferences a Config field pointer.
func fieldValue(p any) any {
	switch v := p.(type) {
	case *string:
		return *v
	case *int:
		return *v
	case *float64:
		return *v
	case *uint64:
		return *v
	}
	return nil
}

func copyField(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *int:
		*d = *src.(*int)
	case *float64:
		*d = *src.(*float64)
	case *uint64:
		*d = *src.(*uint64)
	}
}

// newRun starts a fresh run of cfg. Without -out it takes dir, or dir-2,
// dir-3, … when that holds a run or another process is training there, so
// a second run never touches the first's checkpoints; an -out that is
// taken is an error.
func newRun(cfg train.Config, dir string) (*train.Trainer, error) {
	if cfg.Out != "" {
		tr, err := train.New(cfg)
		if errors.Is(err, train.ErrHoldsRun) {
			return nil, fmt.Errorf("%s already holds a run: resume it with -resume %s, or choose another -out", cfg.Out, cfg.Out)
		}
		return tr, err
	}
	for n := 1; ; n++ {
		cfg.Out = dir
		if n > 1 {
			cfg.Out = fmt.Sprintf("%s-%d", dir, n)
		}
		tr, err := train.New(cfg)
		if errors.Is(err, train.ErrHoldsRun) || errors.Is(err, train.ErrRunInUse) {
			continue
		}
		return tr, err
	}
}

// initFrom loads starting weights from a safetensors file.
func initFrom(tr *train.Trainer, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-init-from: %w", err)
	}
	ts, _, err := nn.DecodeSafetensors(b)
	if err != nil {
		return fmt.Errorf("-init-from %s: %w", path, err)
	}
	if err := nn.LoadTensors(ts, tr.Model().Params()); err != nil {
		return fmt.Errorf("-init-from %s: %w", path, err)
	}
	return nil
}
