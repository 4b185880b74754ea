// Command eval evaluates a trained checkpoint on held-out data.
//
//	go run ./cmd/eval -ckpt checkpoints/reverse                  # best checkpoint, test split
//	go run ./cmd/eval -ckpt checkpoints/reverse -len 16          # longer sequences than trained on
//	go run ./cmd/eval -ckpt checkpoints/reverse -show 5          # examples, errors marked
//	go run ./cmd/eval -ckpt checkpoints/reverse -input "a b c d" # one sequence
//	go run ./cmd/eval -ckpt checkpoints/reverse -json            # machine-readable
//
// Run with -h for every flag. Build it as bin/qkv-eval: a binary named plain
// eval is shadowed by the shell's builtin.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/train"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "eval: "+err.Error())
		os.Exit(2)
	}
}

type options struct {
	ckpt, which, split, data, input string
	attentionPNG                    string
	length, n, show                 int
	json, attention                 bool
}

// report is what -json prints: one object.
type report struct {
	Checkpoint string          `json:"checkpoint"`
	Step       int             `json:"step"`
	Task       string          `json:"task,omitempty"`
	Split      string          `json:"split,omitempty"`
	Length     int             `json:"length,omitempty"`
	Metrics    *train.Metrics  `json:"metrics,omitempty"`
	Unknown    int             `json:"unknown_tokens"`
	Examples   []shown         `json:"examples,omitempty"`
	Prediction *shown          `json:"prediction,omitempty"`
	Attention  [][][][]float64 `json:"attention,omitempty"` // [layer][head][query][key]
}

// shown is one example with the model's prediction.
type shown struct {
	Input     []string `json:"input"`
	Target    []string `json:"target,omitempty"`
	Predicted []string `json:"predicted"`
	Correct   *bool    `json:"correct,omitempty"`
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.ckpt, "ckpt", "", "run `dir`ectory or checkpoint directory to evaluate (required)")
	fs.StringVar(&o.which, "which", train.Best, "checkpoint of a run directory: best (by validation) or latest")
	fs.StringVar(&o.split, "split", train.SplitTest, "held-out split of the run: val or test")
	fs.StringVar(&o.data, "data", "", "evaluate on this `file` instead (training format; the checkpoint's vocabulary)")
	fs.IntVar(&o.length, "len", 0, "evaluate a generated task on sequences of exactly this length (longer than trained on)")
	fs.IntVar(&o.n, "n", 0, "evaluate only the first N examples (with -len: generate N; 0: all)")
	fs.IntVar(&o.show, "show", 0, "print K examples with input, target and prediction, errors marked")
	fs.StringVar(&o.input, "input", "", "run one sequence of space-separated `tokens` through the model")
	fs.BoolVar(&o.attention, "attention", false, "with -input: print every head's attention weights")
	fs.StringVar(&o.attentionPNG, "attention-png", "", "with -input: draw every head's attention weights as heat maps into `file`.png")
	fs.BoolVar(&o.json, "json", false, "print one JSON object on stdout and nothing else there")
	// The flag package calls Usage on -h and on every error; bad input
	// gets its one-line error alone, so only -h prints the flags.
	fs.Usage = func() {}
	usage := func() {
		fmt.Fprintf(stderr, "usage: eval -ckpt DIR [flags]\n\nEvaluates a checkpoint on held-out data. Flags:\n")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
		}
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.ckpt == "":
		return o, errors.New("-ckpt DIR is required")
	case o.n < 0 || o.show < 0 || o.length < 0:
		return o, errors.New("-n, -show and -len must not be negative")
	case o.data != "" && o.length > 0:
		return o, errors.New("give -data or -len, not both")
	case (o.attention || o.attentionPNG != "") && o.input == "":
		return o, errors.New("-attention and -attention-png need -input")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	ck, err := train.OpenRun(o.ckpt, o.which, func(msg string) { fmt.Fprintln(stderr, "eval: "+msg) })
	if err != nil {
		return err
	}
	in, out, err := ck.Vocabs()
	if err != nil {
		return err
	}
	ev := train.NewEvaluator(ck.Model)
	defer ev.Close()
	rep := report{Checkpoint: ck.Dir, Step: ck.State.Step, Task: ck.Config.Name()}

	if o.input != "" {
		if err := predictOne(ev, ck, in, out, o, &rep, stderr); err != nil {
			return err
		}
		return emit(stdout, stderr, o, rep)
	}

	var exs []data.Example
	switch {
	case o.data != "":
		exs, rep.Unknown, err = data.ReadFileWithVocab(o.data, ck.Vocab.Kind, in, out)
		if err != nil {
			return err
		}
		if o.n > 0 && o.n < len(exs) {
			exs = exs[:o.n]
		}
		rep.Split = o.data
	default:
		if exs, err = ck.HeldOut(o.split, o.length, o.n); err != nil {
			return err
		}
		rep.Split, rep.Length = o.split, o.length
	}
	if len(exs) == 0 {
		return errors.New("no examples to evaluate")
	}
	m, preds, err := ev.Evaluate(exs)
	if err != nil {
		return err
	}
	rep.Metrics = &m
	for i := 0; i < o.show && i < len(exs); i++ {
		rep.Examples = append(rep.Examples, show(exs[i], preds[i], in, out))
	}
	return emit(stdout, stderr, o, rep)
}

func predictOne(ev *train.Evaluator, ck *train.Checkpoint, in, out *data.Vocab, o options, rep *report, stderr io.Writer) error {
	toks := strings.Fields(o.input)
	if len(toks) == 0 {
		return errors.New("-input has no tokens")
	}
	ids, unknown := in.Encode(toks)
	rep.Unknown = unknown
	if unknown > 0 {
		fmt.Fprintf(stderr, "eval: %d unknown token(s) in -input read as %s (known: %s)\n", unknown, data.UnkToken, strings.Join(in.Tokens()[2:], " "))
	}
	ex := data.Example{Input: ids, Target: make([]int, len(ids))}
	if ck.Vocab.Kind == data.Classification {
		ex.Target = []int{data.Ignore}
	} else {
		for i := range ex.Target {
			ex.Target[i] = data.Ignore
		}
	}
	_, preds, err := ev.Evaluate([]data.Example{ex})
	if err != nil {
		return err
	}
	rep.Prediction = &shown{Input: in.Decode(ids), Predicted: out.Decode(preds[0])}
	if o.attention || o.attentionPNG != "" {
		att, err := ev.Attention(ex)
		if err != nil {
			return err
		}
		if o.attention {
			rep.Attention = att
		}
		if o.attentionPNG != "" {
			if err := writeHeatmaps(o.attentionPNG, att, rep.Prediction.Input); err != nil {
				return err
			}
		}
	}
	return nil
}

func show(ex data.Example, pred []int, in, out *data.Vocab) shown {
	s := shown{Input: in.Decode(ex.Input), Predicted: out.Decode(pred)}
	ok := true
	for i, t := range ex.Target {
		if t == data.Ignore {
			s.Target = append(s.Target, "_")
			continue
		}
		s.Target = append(s.Target, out.Token(t))
		if pred[i] != t {
			ok = false
		}
	}
	s.Correct = &ok
	return s
}

// emit prints the report: JSON alone on stdout, or text.
func emit(stdout, stderr io.Writer, o options, rep report) error {
	if o.json {
		enc := json.NewEncoder(stdout)
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "checkpoint %s (step %d)\n", rep.Checkpoint, rep.Step)
	if p := rep.Prediction; p != nil {
		fmt.Fprintf(stdout, "input:     %s\npredicted: %s\n", strings.Join(p.Input, " "), strings.Join(p.Predicted, " "))
		printAttention(stdout, rep.Attention, p.Input)
		return nil
	}
	what := rep.Split
	if rep.Length > 0 {
		what = fmt.Sprintf("%s of length %d", what, rep.Length)
	}
	m := rep.Metrics
	fmt.Fprintf(stdout, "%s: %d examples, %d targets\n", what, m.Examples, m.Targets)
	fmt.Fprintf(stdout, "loss %.4f  token accuracy %.2f%%  sequence accuracy %.2f%%\n", m.Loss, 100*m.TokenAccuracy, 100*m.SequenceAccuracy)
	if rep.Unknown > 0 {
		fmt.Fprintf(stdout, "unknown tokens (read as %s): %d\n", data.UnkToken, rep.Unknown)
	}
	if len(m.PositionAccuracy) > 0 {
		fmt.Fprint(stdout, "accuracy by position:")
		for i, a := range m.PositionAccuracy {
			fmt.Fprintf(stdout, " %d:%.1f%%", i+1, 100*a)
		}
		fmt.Fprintln(stdout)
	}
	for _, ex := range rep.Examples {
		mark := "ok"
		if !*ex.Correct {
			mark = "WRONG"
		}
		fmt.Fprintf(stdout, "\n%s\n  input:     %s\n  target:    %s\n  predicted: %s\n", mark,
			strings.Join(ex.Input, " "), strings.Join(ex.Target, " "), markWrong(ex.Predicted, ex.Target))
	}
	return nil
}

// markWrong brackets predicted tokens that differ from the target.
func markWrong(pred, target []string) string {
	out := make([]string, len(pred))
	for i, p := range pred {
		out[i] = p
		if i < len(target) && target[i] != "_" && target[i] != p {
			out[i] = "[" + p + "]"
		}
	}
	return strings.Join(out, " ")
}

func printAttention(w io.Writer, att [][][][]float64, toks []string) {
	for l, heads := range att {
		for h, rows := range heads {
			fmt.Fprintf(w, "\nlayer %d head %d (rows: queries, columns: keys)\n%8s", l, h, "")
			for _, t := range toks {
				fmt.Fprintf(w, "%7.7s", t)
			}
			fmt.Fprintln(w)
			for q, row := range rows {
				fmt.Fprintf(w, "%8.8s", toks[q])
				for _, x := range row {
					fmt.Fprintf(w, "%7.2f", x)
				}
				fmt.Fprintln(w)
			}
		}
	}
}
