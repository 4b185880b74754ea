// Command study measures, with one command, the claims made for attention
// over recurrence: it trains a transformer and an LSTM of matched
// parameter counts on the same tasks with fixed seeds and writes a report
// directory — REPORT.md with a verdict per claim, PNG plots and every
// number in results.json.
//
//	go run ./cmd/study                 # the full study, into study/
//	go run ./cmd/study -quick          # fewer steps and sizes, same report
//	go run ./cmd/study -out DIR -seed 2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/qkv-dev/qkv/internal/cli"
	"github.com/qkv-dev/qkv/train"
)

// Exit statuses.
const (
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(mainStatus(os.Args[1:], os.Stdout, os.Stderr))
}

// mainStatus runs the command until it ends or a stop signal comes, and
// returns the exit status. A stop signal (cli.StopSignals) stops the study
// at the next step; it removes its scratch runs and the report it was
// building, and exits 128 + the signal's number, as a shell reports a
// process the signal killed. A second signal exits at once.
func mainStatus(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, cli.StopSignals...)
	defer signal.Stop(sigs)
	var got atomic.Value // the first stop signal, a syscall.Signal
	done := make(chan struct{})
	defer close(done)
	go func() {
		var s os.Signal
		select {
		case s = <-sigs:
		case <-done:
			return
		}
		got.Store(s)
		fmt.Fprintf(stderr, "study: %v: stopping, removing the scratch runs…\n", s)
		cancel()
		select {
		case s := <-sigs:
			os.Exit(cli.SignalError{Signal: s}.Status())
		case <-done:
		}
	}()
	err := run(ctx, args, stdout, stderr)
	if s, ok := got.Load().(os.Signal); ok {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, train.ErrInterrupted) {
			fmt.Fprintln(stderr, "study: "+err.Error())
		}
		return cli.SignalError{Signal: s}.Status()
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "study: "+err.Error())
		return exitUsage
	default:
		fmt.Fprintln(stderr, "study: "+err.Error())
		return exitError
	}
}

// usageError is bad input: a flag, or an output directory the study may
// not write into. It exits 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// options are the command's flags.
type options struct {
	out      string
	quick    bool
	seed     uint64
	workers  int
	twinData string
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: study [-quick] [-out DIR] [-seed N] [-workers N]

Trains a transformer and an LSTM of matched size on the same tasks, each
tuned the same way (a learning-rate sweep chosen by validation, then
several seeds), and measures the claims made for attention: long-range
dependencies, gradient flow, parallelism, interpretability, a negative
control (running parity) and length generalisation; then checks qkv's
training against PyTorch twins (numbers committed in
cmd/study/testdata/twin.json). Writes DIR/REPORT.md, DIR/*.png and
DIR/results.json. SIGINT, SIGTERM and SIGHUP stop it and remove what it
made; it then exits 130, 143 or 129.

`)
}

// run parses args, runs the study and writes the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("study", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "study", "report directory: created, or empty, or a previous study report (its files are replaced)")
	fs.BoolVar(&o.quick, "quick", false, "fewer steps, the same report")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of every model, data set and probe")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "training runs at a time (the numbers do not depend on it; the step timings run alone)")
	fs.StringVar(&o.twinData, "twin-data", "", "only write the PyTorch cross-check's train.tsv, val.tsv and test.tsv into this new or empty directory (scripts/lstm_twin.py reads them)")
	if _, err := cli.Parse(fs, args, stderr, usage); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if o.workers < 1 {
		return usageError{fmt.Errorf("-workers %d: want at least 1", o.workers)}
	}
	if o.twinData != "" {
		if err := checkDir("-twin-data", o.twinData, false); err != nil {
			return usageError{err}
		}
		if err := os.MkdirAll(o.twinData, 0o755); err != nil {
			return fmt.Errorf("-twin-data %s: %w", o.twinData, err)
		}
		return writeTwinData(o.twinData)
	}
	if o.out == "" {
		return usageError{errors.New("-out must name a directory")}
	}
	out, err := openOut(o.out)
	if err != nil {
		return usageError{err}
	}
	sc := full
	if o.quick {
		sc = quick
	}
	interactive := false
	if f, ok := stderr.(*os.File); ok && os.Getenv("CI") == "" {
		interactive = term.IsTerminal(int(f.Fd()))
	}
	res, err := runStudy(ctx, sc, o.seed, o.workers, out, progressTo(stderr, interactive))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "study (%s) written to %s in %.0f s: REPORT.md, results.json and %d plots\n", sc.Name, o.out, res.WallSeconds, len(res.Plots))
	return err
}
