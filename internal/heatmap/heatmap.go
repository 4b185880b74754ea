// Package heatmap draws square matrices of weights — attention weights,
// rows queries and columns keys — as a grid of heat maps in one PNG. The
// commands that show attention (cmd/eval, cmd/study) share it.
package heatmap

import (
	"bytes"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Picture is a grid of matrices over one token sequence: Maps[r][c] is
// the matrix in grid row r, column c, indexed [query][key].
type Picture struct {
	Maps   [][][][]float64
	Tokens []string                  // the sequence: the ticks on both axes
	Title  func(row, col int) string // nil: "layer row, head col"
	X, Y   string                    // axis labels; empty: "key" and "query"

	maxPixels float64 // the bound; 0: MaxPixels (tests lower it)
}

// tileSide is the side of one matrix's tile for a sequence of n tokens in
// a grid of tiles: its natural size, or, where tiles of that size would
// hold more than limit pixels together, a size shrunk alike for every tile
// to fit. Bounded in pixels: a 500-token input drew 34167×17083 pixels
// (4.8 GB).
func tileSide(n, tiles int, limit float64) vg.Length {
	side := vg.Length(40+18*n) * vg.Millimeter / 4
	if px := float64(side.Dots(vgimg.DefaultDPI)); px*px*float64(tiles) > limit {
		side = vg.Length(float64(side) * math.Sqrt(limit/(px*px*float64(tiles))))
	}
	return side
}

// weights is one matrix as a plotter.GridXYZ: column c is key c, row r
// query r.
type weights [][]float64

func (w weights) Dims() (c, r int)   { return len(w[0]), len(w) }
func (w weights) Z(c, r int) float64 { return w[r][c] }
func (w weights) X(c int) float64    { return float64(c) }
func (w weights) Y(r int) float64    { return float64(r) }

// MaxPixels bounds a picture's size: 16 million pixels, 64 MB as RGBA.
const MaxPixels = 16 << 20

// Attention returns the picture of every head's attention weights,
// att[layer][head][query][key]: layers down, heads across.
func Attention(att [][][][]float64, toks []string) Picture {
	return Picture{Maps: att, Tokens: toks}
}

// PNG draws the picture, queries as rows (the first on top) and keys as
// columns, every matrix on one colour scale from 0 to 1.
func (p Picture) PNG() ([]byte, error) {
	if len(p.Maps) == 0 || len(p.Maps[0]) == 0 {
		return nil, fmt.Errorf("no weights to draw")
	}
	title := p.Title
	if title == nil {
		title = func(r, c int) string { return fmt.Sprintf("layer %d, head %d", r, c) }
	}
	xl, yl := p.X, p.Y
	if xl == "" {
		xl, yl = "key", "query"
	}
	rows, cols := len(p.Maps), len(p.Maps[0])
	ticks := make(plot.ConstantTicks, len(p.Tokens))
	for i, t := range p.Tokens {
		ticks[i] = plot.Tick{Value: float64(i), Label: t}
	}
	pal := moreland.SmoothBlueRed().Palette(255)
	plots := make([][]*plot.Plot, rows)
	for r := range p.Maps {
		if len(p.Maps[r]) != cols {
			return nil, fmt.Errorf("grid row %d has %d matrices, want %d", r, len(p.Maps[r]), cols)
		}
		plots[r] = make([]*plot.Plot, cols)
		for c, w := range p.Maps[r] {
			if len(w) == 0 || len(w) != len(w[0]) {
				return nil, fmt.Errorf("matrix %d/%d is not square and non-empty", r, c)
			}
			pl := plot.New()
			pl.Title.Text = title(r, c)
			hm := plotter.NewHeatMap(weights(w), pal)
			hm.Min, hm.Max = 0, 1
			pl.Add(hm)
			pl.X.Tick.Marker, pl.Y.Tick.Marker = ticks, ticks
			pl.X.Label.Text, pl.Y.Label.Text = xl, yl
			pl.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
			plots[r][c] = pl
		}
	}
	limit := p.maxPixels
	if limit == 0 {
		limit = MaxPixels
	}
	side := tileSide(len(p.Tokens), rows*cols, limit)
	img := vgimg.New(side*vg.Length(cols), side*vg.Length(rows))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter, PadY: vg.Millimeter}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c, pl := range plots[r] {
			pl.Draw(canvases[r][c])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
