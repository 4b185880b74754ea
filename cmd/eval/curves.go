package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/train"
)

// redrawCurves draws run's metrics.jsonl into out, by default the run's
// own train.CurvesFile, and says where on stdout when out is a regular
// file. "-" writes the picture to stdout, to be piped; so does a device
// or a pipe such as /dev/stdout, which is written through, never replaced
// (train.WriteOutput). It reads nothing else of the run, so a run still
// training, stopped, or whose every checkpoint is damaged redraws all the
// same.
func redrawCurves(ctx context.Context, run, out string, stdout io.Writer) error {
	switch fi, err := os.Stat(run); {
	case err != nil:
		return fmt.Errorf("-curves %s: %w", run, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("-curves %s: not a run directory", run)
	}
	flag := "-o"
	if out == "" {
		// The run's own picture is replaced only in a directory that is a
		// run's: a curves.png beside someone's metrics.jsonl is theirs.
		if !train.HoldsRun(run) {
			return fmt.Errorf("-curves %s: holds no qkv run (no qkv-run.json, no checkpoint), so its %s is not replaced; give -o FILE", run, train.CurvesFile)
		}
		out, flag = filepath.Join(run, train.CurvesFile), "-curves"
	}
	if out == "-" {
		img, err := train.CurvesPNGContext(ctx, run)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if _, err := stdout.Write(img); err != nil {
			return fmt.Errorf("-o -: writing the picture: %w", err)
		}
		return nil
	}
	if err := checkWritable(flag, out); err != nil {
		return err
	}
	img, err := train.CurvesPNGContext(ctx, run)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err := train.WriteOutput(out, img); err != nil {
		return fmt.Errorf("train: curves %s: %w", out, unwrapPath(err))
	}
	if fi, err := os.Stat(out); err != nil || !fi.Mode().IsRegular() {
		return nil // written through a device or pipe, perhaps stdout itself
	}
	if _, err := fmt.Fprintf(stdout, "wrote %s\n", out); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}
