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
	"syscall"

	"golang.org/x/term"

	"github.com/qkv-dev/qkv/internal/cli"
)

// Exit statuses.
const (
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "study: "+err.Error())
		stop()
		os.Exit(exitUsage)
	default:
		fmt.Fprintln(os.Stderr, "study: "+err.Error())
		stop()
		os.Exit(exitError)
	}
}

// usageError is bad input: a flag, or an output directory the study may
// not write into. It exits 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// options are the command's flags.
type options struct {
	out   string
	quick bool
	seed  uint64
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: study [-quick] [-out DIR] [-seed N]

Trains a transformer and an LSTM of matched size on the same tasks and
measures five claims made for attention: long-range dependencies,
gradient flow, parallelism, interpretability, and a negative control
(running parity). Writes DIR/REPORT.md, DIR/*.png and DIR/results.json.

`)
}

// run parses args, runs the study and writes the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("study", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "study", "report directory: created, or empty, or a previous study report (its files are replaced)")
	fs.BoolVar(&o.quick, "quick", false, "fewer steps and sizes, the same report (about 2 minutes)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of every model, data set and probe")
	if _, err := cli.Parse(fs, args, stderr, usage); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if o.out == "" {
		return usageError{errors.New("-out must name a directory")}
	}
	if err := checkOut(o.out); err != nil {
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
	res, err := runStudy(ctx, sc, o.seed, o.out, progressTo(stderr, interactive))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "study (%s) written to %s in %.0f s: REPORT.md, results.json and %d plots\n", sc.Name, o.out, res.WallSeconds, len(res.Plots))
	return err
}
