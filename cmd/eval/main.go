// Command eval evaluates a trained checkpoint on held-out data, or applies
// it to a file of inputs.
//
//	go run ./cmd/eval -ckpt checkpoints/reverse                  # best checkpoint, test split
//	go run ./cmd/eval -ckpt checkpoints/reverse -len 16          # longer sequences than trained on
//	go run ./cmd/eval -ckpt checkpoints/reverse -show 5          # examples, errors marked
//	go run ./cmd/eval -ckpt checkpoints/reverse -data more.tsv   # a file in the training format
//	go run ./cmd/eval -ckpt checkpoints/reverse -input "a b c d" # one sequence
//	go run ./cmd/eval -ckpt checkpoints/reverse -predict in.txt  # a prediction per line
//	go run ./cmd/eval -ckpt checkpoints/reverse -json            # machine-readable
//	go run ./cmd/eval -curves checkpoints/reverse                # redraw the run's curves.png
//	go run ./cmd/eval -ckpt checkpoints/reverse -explore r.html  # the attention explorer, one offline page
//
// Evaluating a held-out split (or a -len test) of a task whose answers are
// copies of input tokens (copy, reverse, recall, lag) also scores every
// attention head against the task's alignment: the mean weight a scored
// position puts on the position its answer comes from, beside the chance
// level of a uniform head. Other tasks, file runs and models without
// attention get no scores.
//
// -predict reads one input sequence a line (space-separated tokens; after
// a TAB, a target is ignored). Lines starting with # are comments; every
// other line gets exactly one line on stdout, in order: "input TAB
// prediction", where the prediction is a token per input token (tagging)
// or one label (classification); a blank line gets a blank line. Unknown
// tokens are read as <unk> and counted on stderr. "-predict -" reads
// stdin.
//
// The data to use is one of -split (the default), -data, -len, -input and
// -predict; a flag that would be ignored with the one chosen is an error.
// -curves RUN stands alone: it redraws RUN/curves.png (or -o FILE) from
// RUN/metrics.jsonl, for a run still going, stopped, or with no loadable
// checkpoint. Errors are one line on stderr and exit status 2; stdout then
// holds nothing.
//
// Ctrl-C, SIGTERM and SIGHUP stop it within a second — reading a file,
// generating a held-out set, evaluating, drawing — with status 130, 143
// or 129; it then writes nothing, neither on stdout nor to a file. A second
// signal quits at once.
//
// Run with -h for every flag. Build it as bin/qkv-eval: a binary named plain
// eval is shadowed by the shell's builtin.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/internal/cli"
	"github.com/qkv-dev/qkv/train"
)

// Exit statuses.
const (
	exitUsage       = 2   // bad input, or any other error
	exitHangup      = 129 // 128 + SIGHUP
	exitInterrupted = 130 // 128 + SIGINT
	exitTerminated  = 143 // 128 + SIGTERM
)

func main() {
	// A second signal kills the process: nothing is half written, as
	// files are replaced whole.
	ctx := cli.NotifyContext(nil)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var se cli.SignalError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &se):
		fmt.Fprintf(os.Stderr, "eval: stopped by %v; nothing was written\n", se.Signal)
		os.Exit(se.Status())
	default:
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(exitUsage)
	}
}

// errorLine formats err as the one line main prints: "eval: " and the
// message on one line, without the train package's own "train: " prefix,
// which read as "eval: train: …", as if the train command had failed.
func errorLine(err error) string {
	msg := strings.TrimPrefix(err.Error(), "train: ")
	return "eval: " + strings.ReplaceAll(msg, "\n", "; ")
}

type options struct {
	ckpt, which, split, data, input, predict string
	attentionPNG, curves, curvesOut          string
	explore                                  string
	inputs                                   inputList // every -input; only -explore takes more than one
	length, n, show                          int
	json, attention                          bool
	set                                      map[string]bool // flags given on the command line
}

// report is what -json prints: one object.
type report struct {
	Checkpoint  string          `json:"checkpoint"`
	Step        int             `json:"step"`
	Task        string          `json:"task,omitempty"`
	Split       string          `json:"split,omitempty"`
	Length      int             `json:"length,omitempty"`
	Inputs      string          `json:"inputs,omitempty"` // the -predict file
	Metrics     *train.Metrics  `json:"metrics,omitempty"`
	Unknown     int             `json:"unknown_tokens"`
	Examples    []shown         `json:"examples,omitempty"`
	Prediction  *shown          `json:"prediction,omitempty"`
	Predictions []shown         `json:"predictions,omitempty"` // -predict: one per line that is not a comment
	Attention   [][][][]float64 `json:"attention,omitempty"`   // [layer][head][query][key]
	Alignment   *alignment      `json:"alignment,omitempty"`
}

// alignment is every head's score against the task's alignment rule
// (train.Alignment).
type alignment struct {
	Scores    [][]float64 `json:"scores"`    // [layer][head]: mean attention weight on the source position
	Chance    float64     `json:"chance"`    // a uniform head's score: the mean of 1/n
	Positions int         `json:"positions"` // query positions scored
	Best      headScore   `json:"best"`
}

// headScore names one head and its score.
type headScore struct {
	Layer int     `json:"layer"`
	Head  int     `json:"head"`
	Score float64 `json:"score"`
}

// shown is one example with the model's prediction.
type shown struct {
	Input     []string `json:"input"`
	Target    []string `json:"target,omitempty"`
	Predicted []string `json:"predicted"`
	Correct   *bool    `json:"correct,omitempty"`
}

// sources are the flags that choose what to evaluate, besides -split.
var sources = []string{"data", "len", "input", "predict"}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&o.ckpt, "ckpt", "", "run `dir`ectory or checkpoint directory to evaluate (required)")
	fs.StringVar(&o.which, "which", train.Best, "checkpoint of a run directory: best (by validation) or latest (not with a checkpoint directory)")
	fs.StringVar(&o.split, "split", train.SplitTest, "held-out split of the run: val or test (the default data)")
	fs.StringVar(&o.data, "data", "", "evaluate on this `file` instead (training format; the checkpoint's vocabulary)")
	fs.IntVar(&o.length, "len", 0, "evaluate a generated task on sequences of exactly this length (longer than trained on)")
	fs.IntVar(&o.n, "n", 0, "evaluate only the first N examples (with -len: generate N; 0: all; not with -input or -predict)")
	fs.IntVar(&o.show, "show", 0, "print K examples with input, target and prediction, errors marked (not with -input or -predict)")
	fs.Var(&o.inputs, "input", "run one sequence of space-separated `tokens` through the model (with -explore: repeat for more)")
	fs.StringVar(&o.explore, "explore", "", "write the attention explorer, one offline HTML `file`, for held-out examples or each -input")
	fs.StringVar(&o.predict, "predict", "", "predict for each line of `file` (- for stdin): prints \"input TAB prediction\" a line, in order;\n# lines are skipped, blank lines give blank lines, text after a TAB is ignored")
	fs.BoolVar(&o.attention, "attention", false, "with -input: print every head's attention weights")
	fs.StringVar(&o.attentionPNG, "attention-png", "", "with -input: draw every head's attention weights as heat maps into `file`.png")
	fs.StringVar(&o.curves, "curves", "", "redraw `run`/curves.png from the run directory's metrics.jsonl, and nothing else\n(needs no loadable checkpoint)")
	fs.StringVar(&o.curvesOut, "o", "", "with -curves: write the picture to `file` instead (- for stdout)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object on stdout and nothing else there\n(-predict: its \"predictions\" array has an entry per line that is not a comment)")
	set, err := cli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprintf(w, "usage: eval -ckpt DIR [-split val|test | -data FILE | -len N | -input TOKENS | -predict FILE] [flags]\n"+
			"       eval -curves RUN [-o FILE]\n\n"+
			"Evaluates a checkpoint on held-out data, or predicts for inputs, or redraws a run's\n"+
			"training curves. Flags:\n")
	})
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "\nGive at most one of -split, -data, -len, -input and -predict; a flag that does not\n"+
			"apply to the one given is an error. Evaluation runs in batches that fit %d MiB.\n"+
			"Errors: one line on stderr, exit status 2.\n", train.EvalMemory>>20)
	}
	if err != nil {
		return o, err
	}
	o.set = set
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.set["curves"] {
		return o, checkCurvesFlags(o)
	}
	if o.set["o"] {
		return o, errors.New("-o names the picture -curves draws; give -curves RUN")
	}
	if o.ckpt == "" {
		return o, errors.New("-ckpt DIR is required")
	}
	if o.set["explore"] {
		return o, checkExploreFlags(o)
	}
	if len(o.inputs) > 1 {
		return o, errors.New("give -input once (several only with -explore)")
	}
	if len(o.inputs) == 1 {
		o.input = o.inputs[0]
	}
	for _, name := range []string{"data", "predict", "attention-png"} {
		if o.set[name] && fs.Lookup(name).Value.String() == "" {
			return o, fmt.Errorf("-%s is empty: give a file name", name)
		}
	}
	if o.set["input"] {
		toks, err := data.Tokens(o.input)
		if err != nil {
			return o, fmt.Errorf("-input: %w", err)
		}
		if len(toks) == 0 {
			return o, errors.New("-input has no tokens")
		}
	}
	if o.n < 0 || o.show < 0 || o.length < 0 {
		return o, errors.New("-n, -show and -len must not be negative")
	}
	source := "" // the flag that chose the data, if not -split
	for _, name := range sources {
		if !o.set[name] || name == "len" && o.length == 0 {
			continue
		}
		if source != "" {
			return o, fmt.Errorf("give -%s or -%s, not both", source, name)
		}
		source = name
	}
	switch {
	case o.set["split"] && source != "":
		return o, fmt.Errorf("-split chooses a held-out split of the run; it does not apply to -%s", source)
	case o.show > 0 && (source == "input" || source == "predict"):
		return o, fmt.Errorf("-show prints examples with their targets; -%s has none", source)
	case o.set["n"] && (source == "input" || source == "predict"):
		return o, fmt.Errorf("-n counts examples to evaluate; it does not apply to -%s", source)
	case (o.attention || o.attentionPNG != "") && source != "input":
		return o, errors.New("-attention and -attention-png need -input")
	case o.attentionPNG == "-":
		return o, errors.New("-attention-png -: stdout holds the prediction; give a file name")
	}
	return o, nil
}

// checkCurvesFlags rejects, beside -curves, any flag but -o: -curves reads
// only the run's metrics, so the others would be ignored.
func checkCurvesFlags(o options) error {
	if o.curves == "" {
		return errors.New("-curves is empty: give a run directory")
	}
	if o.set["o"] && o.curvesOut == "" {
		return errors.New("-o is empty: give a file name")
	}
	for _, name := range slices.Sorted(maps.Keys(o.set)) {
		if name != "curves" && name != "o" {
			return fmt.Errorf("-curves redraws a run's curves from its metrics alone; it does not take -%s", name)
		}
	}
	return nil
}

// run evaluates as args say. Once ctx is done it stops, within a batch or
// a few hundred generated examples, and returns ctx's cause, having written
// nothing: every output is written after everything is computed, and
// ctx is looked at once more before it is.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	defer func() {
		if err == nil {
			return
		}
		if cause := context.Cause(ctx); cause != nil && errors.Is(err, cause) {
			err = cause
		}
	}()
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.curves != "" {
		return redrawCurves(ctx, o.curves, o.curvesOut, stdout)
	}
	if o.explore != "" {
		return writeExplorer(ctx, o, stdout, stderr)
	}
	if o.attentionPNG != "" {
		if err := checkWritable("-attention-png", o.attentionPNG); err != nil {
			return err
		}
	}
	ck, in, out, err := openCheckpoint(o, stderr)
	if err != nil {
		return err
	}
	ev := train.NewEvaluator(ck.Model)
	defer ev.Close()
	ev.SetContext(ctx)
	rep := report{Checkpoint: ck.Dir, Step: ck.Step(), Task: ck.Config.Name()}
	var picture []byte // -attention-png's, written with the results

	switch {
	case o.input != "":
		if picture, err = predictOne(ev, in, out, o, &rep, stderr); err != nil {
			return err
		}
	case o.predict != "":
		if err := predictFile(ctx, ev, in, out, o.predict, stdin, &rep, stderr); err != nil {
			return err
		}
	default:
		if err := evaluate(ctx, ev, ck, in, out, o, &rep, stderr); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if picture != nil {
		if err := writePicture(o.attentionPNG, picture); err != nil {
			return err
		}
	}
	// Everything is computed before the first byte goes out, so an error
	// leaves stdout empty; a failed write (a full disk, a closed pipe) is
	// an error too, not lost results.
	w := bufio.NewWriter(stdout)
	err = emit(w, o, rep)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}

// openCheckpoint loads -ckpt's checkpoint as -which chooses (damage
// skipped is reported on stderr) and its vocabularies.
func openCheckpoint(o options, stderr io.Writer) (ck *train.Checkpoint, in, out *data.Vocab, err error) {
	ck, err = train.OpenRun(o.ckpt, o.which, func(msg string) { fmt.Fprintln(stderr, "eval: "+msg) })
	if err != nil {
		return nil, nil, nil, err
	}
	if o.set["which"] && filepath.Clean(ck.Dir) == filepath.Clean(o.ckpt) {
		return nil, nil, nil, fmt.Errorf("-which chooses among the checkpoints of a run directory; %s is a single checkpoint", o.ckpt)
	}
	if in, out, err = ck.Vocabs(); err != nil {
		return nil, nil, nil, err
	}
	return ck, in, out, nil
}

// evaluate computes metrics over a split, a -len test or a -data file, and
// for a split or -len test the heads' alignment.
func evaluate(ctx context.Context, ev *train.Evaluator, ck *train.Checkpoint, in, out *data.Vocab, o options, rep *report, stderr io.Writer) error {
	var exs []data.Example
	var err error
	switch {
	case o.data != "":
		b, err := readInput(ctx, "-data", o.data, nil)
		if err != nil {
			return err
		}
		exs, rep.Unknown, err = data.ParseFileWithVocab(bytes.NewReader(b), o.data, ck.Vocab.Kind, in, out)
		if err != nil {
			return err
		}
		if o.n > 0 && o.n < len(exs) {
			exs = exs[:o.n]
		}
		rep.Split = o.data
	default:
		if exs, err = ck.HeldOutContext(ctx, o.split, o.length, o.n); err != nil {
			return err
		}
		rep.Split, rep.Length = o.split, o.length
	}
	if len(exs) == 0 {
		return errors.New("no examples to evaluate")
	}
	m, preds, err := ev.Evaluate(exs)
	if err != nil {
		if o.length > 0 && errors.Is(err, train.ErrGraphTooLarge) {
			return fmt.Errorf("-len %d: %w", o.length, err)
		}
		return err
	}
	rep.Metrics = &m
	for i := 0; i < o.show && i < len(exs); i++ {
		rep.Examples = append(rep.Examples, show(exs[i], preds[i], in, out))
	}
	if o.data == "" {
		if rep.Alignment, err = measureAlignment(ev, ck.Config, exs); errors.Is(err, train.ErrGraphTooLarge) {
			fmt.Fprintf(stderr, "eval: no alignment scores: %v\n", err)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// measureAlignment scores every head on exs, examples of the run's task,
// against the task's alignment rule (data.AlignerOf). A file run, a task
// without a rule and a model without attention get nil and no error.
func measureAlignment(ev *train.Evaluator, cfg train.Config, exs []data.Example) (*alignment, error) {
	if cfg.Data != "" {
		return nil, nil
	}
	task, err := data.NewTask(cfg.Task, cfg.Symbols)
	if err != nil {
		return nil, err
	}
	rule, ok := data.AlignerOf(task)
	if !ok {
		return nil, nil
	}
	al, err := train.MeasureAlignment(ev.Attention, exs, rule)
	if errors.Is(err, train.ErrNoAttention) || err == nil && al.Positions() == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, h, s := al.Best()
	return &alignment{Scores: al.Scores(), Chance: al.Chance(), Positions: al.Positions(), Best: headScore{l, h, s}}, nil
}

// checkReserved rejects the specials' spellings in a user's tokens: they
// are not tokens a model was trained on.
func checkReserved(toks []string) error {
	for _, tok := range toks {
		if tok == data.PadToken || tok == data.UnkToken {
			return fmt.Errorf("token %q is reserved", tok)
		}
	}
	return nil
}

// predictOne predicts for -input, and with -attention-png draws the
// picture and returns it, for run to write once nothing can stop it.
func predictOne(ev *train.Evaluator, in, out *data.Vocab, o options, rep *report, stderr io.Writer) (picture []byte, err error) {
	toks, err := data.Tokens(o.input) // checked by parse
	if err != nil {
		return nil, fmt.Errorf("-input: %w", err)
	}
	if err := checkReserved(toks); err != nil {
		return nil, fmt.Errorf("-input: %w", err)
	}
	ids, unknown := in.Encode(toks)
	rep.Unknown = unknown
	if unknown > 0 {
		fmt.Fprintf(stderr, "eval: %d unknown token(s) in -input read as %s (known: %s)\n", unknown, data.UnkToken, strings.Join(in.Tokens()[2:], " "))
	}
	preds, err := ev.Predict([][]int{ids})
	if err != nil {
		var ie *train.InputError
		if errors.As(err, &ie) { // the only input: no index to name
			return nil, fmt.Errorf("-input: %w", ie.Err)
		}
		return nil, fmt.Errorf("-input: %w", err)
	}
	rep.Prediction = &shown{Input: in.Decode(ids), Predicted: out.Decode(preds[0])}
	if o.attention || o.attentionPNG != "" {
		att, err := ev.Attention(ids)
		if err != nil {
			return nil, err
		}
		if o.attention {
			rep.Attention = att
		}
		if o.attentionPNG != "" {
			if picture, err = drawHeatmaps(o.attentionPNG, att, rep.Prediction.Input); err != nil {
				return nil, err
			}
		}
	}
	return picture, nil
}

// predictFile predicts for every line of a -predict file that is not a
// comment, in order; a blank line gets an empty prediction.
func predictFile(ctx context.Context, ev *train.Evaluator, in, out *data.Vocab, path string, stdin io.Reader, rep *report, stderr io.Writer) error {
	name := path
	if path == "-" {
		name = "stdin"
	}
	b, err := readInput(ctx, "-predict", path, stdin)
	if err != nil {
		return err
	}
	lines, err := data.ParseInputs(bytes.NewReader(b), name)
	if err != nil {
		return err
	}
	var inputs [][]int
	var at []int // the line of each input
	var unknown []string
	for i, l := range lines {
		if len(l.Input) == 0 {
			continue
		}
		ids, _ := in.Encode(l.Input)
		for j, id := range ids {
			if id == data.UnkID {
				unknown = append(unknown, fmt.Sprintf("%s (line %d)", l.Input[j], l.Num))
			}
		}
		inputs, at = append(inputs, ids), append(at, i)
	}
	var preds [][]int
	if len(inputs) > 0 {
		if preds, err = ev.Predict(inputs); err != nil {
			var ie *train.InputError
			if errors.As(err, &ie) {
				return fmt.Errorf("%s:%d: %v", name, lines[at[ie.Input]].Num, ie.Err)
			}
			if errors.Is(err, train.ErrGraphTooLarge) { // name the longest line
				longest := at[0]
				for _, i := range at {
					if len(lines[i].Input) > len(lines[longest].Input) {
						longest = i
					}
				}
				return fmt.Errorf("%s:%d: %w", name, lines[longest].Num, err)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	rep.Inputs, rep.Unknown = name, len(unknown)
	if len(unknown) > 0 {
		const listed = 5
		more := ""
		if len(unknown) > listed {
			unknown, more = unknown[:listed], ", …"
		}
		fmt.Fprintf(stderr, "eval: %s: %d unknown token(s) read as %s: %s%s\n", name, rep.Unknown, data.UnkToken, strings.Join(unknown, ", "), more)
	}
	rep.Predictions = make([]shown, len(lines))
	for i := range rep.Predictions {
		rep.Predictions[i] = shown{Input: []string{}, Predicted: []string{}}
	}
	for k, i := range at {
		rep.Predictions[i] = shown{Input: lines[i].Input, Predicted: out.Decode(preds[k])}
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

// emit prints the report: JSON alone on stdout, the -predict lines alone,
// or text. It returns JSON's errors; stdout's write errors are the
// caller's to check (it is buffered).
func emit(stdout io.Writer, o options, rep report) error {
	if o.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	if rep.Predictions != nil {
		for _, p := range rep.Predictions {
			if len(p.Input) > 0 {
				fmt.Fprintf(stdout, "%s\t%s", strings.Join(p.Input, " "), strings.Join(p.Predicted, " "))
			}
			fmt.Fprintln(stdout)
		}
		return nil
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
			if !math.IsNaN(a) { // a position nothing is scored at
				fmt.Fprintf(stdout, " %d:%.1f%%", i+1, 100*a)
			}
		}
		fmt.Fprintln(stdout)
	}
	printAlignment(stdout, rep.Alignment)
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

// printAlignment prints the heads' scores as a table, layers down and
// heads across, and names the best.
func printAlignment(w io.Writer, al *alignment) {
	if al == nil {
		return
	}
	fmt.Fprintf(w, "alignment (mean attention on the position the answer comes from, %d positions):\n%9s", al.Positions, "")
	for h := range al.Scores[0] {
		fmt.Fprintf(w, "%8s", fmt.Sprintf("head %d", h))
	}
	fmt.Fprintln(w)
	for l, row := range al.Scores {
		fmt.Fprintf(w, "%9s", fmt.Sprintf("layer %d", l))
		for _, s := range row {
			fmt.Fprintf(w, "%8.2f", s)
		}
		fmt.Fprintln(w)
	}
	b := al.Best
	fmt.Fprintf(w, "best head: layer %d head %d, %.2f (chance %.2f)\n", b.Layer, b.Head, b.Score, al.Chance)
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

// readInput reads the file a flag names (stdin for "-"), bounded as a
// data file is (train.DataFileLimit) and stopped by ctx, whose cause it
// then returns.
func readInput(ctx context.Context, flag, path string, stdin io.Reader) ([]byte, error) {
	limit := train.DataFileLimit()
	var b []byte
	var err error
	if path == "-" {
		b, err = readAllContext(ctx, stdin, limit)
	} else {
		b, err = data.ReadFileContext(ctx, path, limit)
	}
	switch {
	case err == nil:
		return b, nil
	case ctx.Err() != nil:
		return nil, err
	case errors.Is(err, data.ErrTooLarge):
		return nil, fmt.Errorf("%s %s: larger than the %.1f GiB a data file may take on this machine (read into examples it takes several times its size)", flag, path, float64(limit)/(1<<30))
	}
	return nil, fmt.Errorf("data: %w", err)
}

// readAllContext reads r to its end, at most limit bytes (more is an
// error wrapping data.ErrTooLarge), or returns ctx's cause once ctx is
// done: reading stdin waits on a goroutine of its own, which a terminal or
// a silent pipe can keep waiting past the process's end.
func readAllContext(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	type read struct {
		b   []byte
		err error
	}
	ch := make(chan read, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(b)) > limit {
			b, err = nil, fmt.Errorf("stdin holds more than %d bytes: %w", limit, data.ErrTooLarge)
		}
		ch <- read{b, err}
	}()
	select {
	case rd := <-ch:
		return rd.b, rd.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
