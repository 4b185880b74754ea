package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// weights is one head's attention matrix as a plotter.GridXYZ: column c is
// key c, row r query r.
type weights [][]float64

func (w weights) Dims() (c, r int)   { return len(w[0]), len(w) }
func (w weights) Z(c, r int) float64 { return w[r][c] }
func (w weights) X(c int) float64    { return float64(c) }
func (w weights) Y(r int) float64    { return float64(r) }

// writeHeatmaps draws every head's attention weights, layers down and heads
// across, queries as rows (the first on top) and keys as columns, on one
// colour scale from 0 to 1, and writes the picture to path as a PNG.
func writeHeatmaps(path string, att [][][][]float64, toks []string) error {
	if len(att) == 0 || len(att[0]) == 0 {
		return fmt.Errorf("no attention weights to draw")
	}
	rows, cols := len(att), len(att[0])
	ticks := make(plot.ConstantTicks, len(toks))
	for i, t := range toks {
		ticks[i] = plot.Tick{Value: float64(i), Label: t}
	}
	pal := moreland.SmoothBlueRed().Palette(255)
	plots := make([][]*plot.Plot, rows)
	for l := range att {
		plots[l] = make([]*plot.Plot, cols)
		for h, w := range att[l] {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("layer %d, head %d", l, h)
			hm := plotter.NewHeatMap(weights(w), pal)
			hm.Min, hm.Max = 0, 1
			p.Add(hm)
			p.X.Tick.Marker, p.Y.Tick.Marker = ticks, ticks
			p.X.Label.Text, p.Y.Label.Text = "key", "query"
			p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
			plots[l][h] = p
		}
	}
	side := vg.Length(40+18*len(toks)) * vg.Millimeter / 4
	img := vgimg.New(side*vg.Length(cols), side*vg.Length(rows))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter, PadY: vg.Millimeter}
	canvases := plot.Align(plots, tiles, dc)
	for l := range plots {
		for h, p := range plots[l] {
			p.Draw(canvases[l][h])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("-attention-png %s: drawing: %w", path, err)
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		// renameio writes a temporary file beside path and renames it:
		// its errors name that file, which the user never chose.
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
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
