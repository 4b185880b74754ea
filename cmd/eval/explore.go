package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/qkv-dev/qkv/internal/explore"
	"github.com/qkv-dev/qkv/train"
)

// inputList is the -input flag: one sequence per use.
type inputList []string

func (l *inputList) String() string { return strings.Join(*l, " | ") }

func (l *inputList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// checkExploreFlags rejects, beside -explore, any flag but -ckpt, -which
// and -input: the page shows held-out examples or the inputs, nothing
// else.
func checkExploreFlags(o options) error {
	if o.explore == "" {
		return errors.New("-explore is empty: give a file name")
	}
	for _, name := range slices.Sorted(maps.Keys(o.set)) {
		switch name {
		case "explore", "ckpt", "which", "input":
		default:
			return fmt.Errorf("-explore writes the explorer page for held-out examples or -input; it does not take -%s", name)
		}
	}
	for _, in := range o.inputs {
		toks := strings.Fields(in)
		if len(toks) == 0 {
			return errors.New("-input has no tokens")
		}
		if err := checkReserved(toks); err != nil {
			return fmt.Errorf("-input: %w", err)
		}
	}
	return nil
}

// writeExplorer writes the explorer page of the checkpoint to o.explore
// (train.WriteOutput: a file is whole or not there).
func writeExplorer(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if err := checkWritable("-explore", o.explore); err != nil {
		return err
	}
	ck, in, _, err := openCheckpoint(o, stderr)
	if err != nil {
		return err
	}
	var inputs [][]string
	for _, s := range o.inputs {
		toks := strings.Fields(s)
		if _, unknown := in.Encode(toks); unknown > 0 {
			fmt.Fprintf(stderr, "eval: %d unknown token(s) in -input %q read as <unk>\n", unknown, s)
		}
		inputs = append(inputs, toks)
	}
	al, err := exploreAlignment(ctx, ck)
	if err != nil {
		return err
	}
	page, err := explore.BuildContext(ctx, ck, inputs, al)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := explore.Write(&b, page); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	// A regular file is replaced atomically; a device, pipe or link is
	// written through, never replaced.
	if err := train.WriteOutput(o.explore, b.Bytes()); err != nil {
		return fmt.Errorf("-explore %s: %w", o.explore, unwrapPath(err))
	}
	history := "no training history (the run predates it)"
	if page.History != nil {
		history = fmt.Sprintf("training history of %d steps", len(page.History.Steps))
	}
	_, err = fmt.Fprintf(stdout, "wrote %s (%d KiB): %d examples, %s; open it in a browser\n", o.explore, (b.Len()+1023)/1024, len(page.Examples), history)
	return err
}

// exploreAlignment scores the heads over the test split as qkv-eval does
// (measureAlignment), or gives nil where there is no score to give.
func exploreAlignment(ctx context.Context, ck *train.Checkpoint) (*explore.Alignment, error) {
	if !ck.Model.HasAttention() || ck.Config.Data != "" {
		return nil, nil
	}
	exs, err := ck.HeldOutContext(ctx, train.SplitTest, 0, 0)
	if err != nil {
		return nil, err
	}
	ev := train.NewEvaluator(ck.Model)
	defer ev.Close()
	ev.SetContext(ctx)
	al, err := measureAlignment(ev, ck.Config, exs)
	if err != nil || al == nil {
		return nil, err
	}
	return &explore.Alignment{Split: train.SplitTest, Scores: al.Scores, Chance: al.Chance, Positions: al.Positions}, nil
}
