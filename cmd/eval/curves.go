package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/train"
)

// redrawCurves draws run's metrics.jsonl into out, by default the run's
// own train.CurvesFile, and says where on stdout. It reads nothing else of
// the run, so a run still training, stopped, or whose every checkpoint is
// damaged redraws all the same.
func redrawCurves(run, out string, stdout io.Writer) error {
	switch fi, err := os.Stat(run); {
	case err != nil:
		return fmt.Errorf("-curves %s: %w", run, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("-curves %s: not a run directory", run)
	}
	flag := "-o"
	if out == "" {
		out, flag = filepath.Join(run, train.CurvesFile), "-curves"
	}
	if err := checkWritable(flag, out); err != nil {
		return err
	}
	if err := train.WriteCurves(run, out); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "wrote %s\n", out); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}
