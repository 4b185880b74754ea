// Command qkvbench runs one size and mode of qkv's speed comparison for a
// fixed time and prints the throughput, for bench/compare.sh:
//
//	qkvbench -size small -mode train -seconds 10
//
// prints one line: "qkv small train float32: 58123 tokens/s (812 steps in 10.0s)".
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/qkv-dev/qkv/bench"
	"github.com/qkv-dev/qkv/internal/cli"
	"github.com/qkv-dev/qkv/internal/gemm"
)

func main() {
	err := run(os.Args[1:])
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "qkvbench:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "qkvbench:", err)
		os.Exit(1)
	}
}

// usageError is a flag the command line got wrong: exit status 2.
type usageError struct{ error }

func run(args []string) error {
	fs := flag.NewFlagSet("qkvbench", flag.ContinueOnError)
	size := fs.String("size", "default", "model size: default, small or large")
	mode := fs.String("mode", "train", "train (forward, backward, AdamW) or forward (evaluation graph, no gradients)")
	seconds := fs.Float64("seconds", 10, "how long to measure, after warm-up")
	steps := fs.Int("steps", 0, "measure this many steps instead of -seconds (for CPU-time counts with perf stat or time)")
	warmup := fs.Int("warmup", 5, "steps run before measuring")
	dtype := fs.String("dtype", "float32", "float32 or float64")
	evalBatch := fs.Bool("eval-batch", false, "print the batch qkv-train validates the size in, and exit")
	evalBytes := fs.Bool("eval-bytes", false, "print the bytes one of qkv-train's evaluation graphs takes at the size (built at -eval-batch rows and run once), and exit")
	if _, err := cli.Parse(fs, args, os.Stderr, func(w io.Writer) {
		fmt.Fprintln(w, "usage: qkvbench [-size default|small|large] [-mode train|forward] [-dtype float32|float64] [-seconds S | -steps N]\n\nFlags:")
	}); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	s, err := bench.SizeNamed(*size)
	if err != nil {
		return usageError{err}
	}
	if *evalBatch {
		n, err := bench.EvalBatch(s)
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	}
	if *evalBytes {
		n, err := bench.EvalGraphBytes(s)
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	}
	if *mode != "train" && *mode != "forward" {
		return usageError{fmt.Errorf("unknown mode %q (want train or forward)", *mode)}
	}
	if *dtype != "float32" && *dtype != "float64" {
		return usageError{fmt.Errorf("unknown dtype %q (want float32 or float64)", *dtype)}
	}
	r, err := bench.NewRun(s, *dtype, *mode == "train")
	if err != nil {
		return err
	}
	defer r.Close()
	for range *warmup {
		if _, err := r.Step(); err != nil {
			return err
		}
	}
	tokens, n := 0, 0
	start := time.Now()
	limit := time.Duration(*seconds * float64(time.Second))
	for (*steps > 0 && n < *steps) || (*steps <= 0 && time.Since(start) < limit) {
		k, err := r.Step()
		if err != nil {
			return err
		}
		tokens += k
		n++
	}
	el := time.Since(start).Seconds()
	fmt.Printf("qkv %s %s %s: %.0f tokens/s (%d steps in %.1fs, vocab %d/%d, %s kernels)\n", s.Name, *mode, *dtype, float64(tokens)/el, n, el, r.InVocab, r.OutVocab, gemm.Kernel())
	return nil
}
