package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/internal/heatmap"
	"github.com/qkv-dev/qkv/train"
)

// drawHeatmaps draws every head's attention weights, layers down and heads
// across, queries as rows (the first on top) and keys as columns, on one
// colour scale from 0 to 1, as a PNG for path.
func drawHeatmaps(path string, att [][][][]float64, toks []string) ([]byte, error) {
	png, err := heatmap.Attention(att, toks).PNG()
	if err != nil {
		return nil, fmt.Errorf("-attention-png %s: drawing: %w", path, err)
	}
	return png, nil
}

// writePicture writes -attention-png's picture to path: a regular file is
// replaced atomically; a device, pipe or link is written through, never
// replaced.
func writePicture(path string, png []byte) error {
	if err := train.WriteOutput(path, png); err != nil {
		return fmt.Errorf("-attention-png %s: %w", path, unwrapPath(err))
	}
	return nil
}

// checkWritable reports, before any work, a picture path, given with the
// flag named, whose directory is missing or that names a directory.
func checkWritable(flag, path string) error {
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such directory %s", flag, path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("%s %s: %s is not a directory", flag, path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s: is a directory", flag, path)
	}
	return nil
}

// unwrapPath returns the error inside a *fs.PathError, whose message the
// caller's names the path in already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
