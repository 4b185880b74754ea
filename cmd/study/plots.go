package main

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	colTransformer = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colLSTM        = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// modelColors colour the two models in every plot, in modelNames' order.
var modelColors = [2]color.Color{colTransformer, colLSTM}

// series is one line of a plot.
type series struct {
	name   string
	xs, ys []float64
	color  color.Color
	dashed bool
}

// panel is one plot.
type panel struct {
	title, x, y string
	logY, logX  bool
	xAtData     bool    // x ticks at the first line's x values
	unit        bool    // y on [0, 1]
	vline       float64 // a dotted vertical line there, when > 0
	vlineName   string
	lines       []series
}

// draw returns the panel as a plot. Points a log axis cannot show (zero
// or negative) are left out.
func (pn panel) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = pn.title, pn.x, pn.y
	if pn.logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if pn.logX {
		p.X.Scale = plot.LogScale{}
	}
	if pn.logX || pn.xAtData {
		var ticks plot.ConstantTicks // the values measured, not round numbers between them
		for _, x := range pn.lines[0].xs {
			ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprint(x)})
		}
		p.X.Tick.Marker = ticks
	}
	p.Add(plotter.NewGrid())
	for _, s := range pn.lines {
		var xy plotter.XYs
		for i := range s.xs {
			if (pn.logY && s.ys[i] <= 0) || (pn.logX && s.xs[i] <= 0) {
				continue
			}
			xy = append(xy, plotter.XY{X: s.xs[i], Y: s.ys[i]})
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = s.color, s.color
		l.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			pts.Shape = draw.RingGlyph{}
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	if pn.unit {
		p.Y.Min, p.Y.Max = 0, 1.02
	}
	if pn.vline > 0 {
		v, err := plotter.NewLine(plotter.XYs{{X: pn.vline, Y: p.Y.Min}, {X: pn.vline, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		v.Color, v.Dashes = color.Gray{Y: 100}, []vg.Length{vg.Points(1), vg.Points(2)}
		p.Add(v)
		p.Legend.Add(pn.vlineName, v)
	}
	p.Legend.Top, p.Legend.Left = !pn.unit, true
	return p, nil
}

// drawPanels draws panels side by side, each w×h.
func drawPanels(w, h vg.Length, panels ...panel) ([]byte, error) {
	plots := [][]*plot.Plot{make([]*plot.Plot, len(panels))}
	for i, pn := range panels {
		p, err := pn.plot()
		if err != nil {
			return nil, err
		}
		plots[0][i] = p
	}
	img := vgimg.New(w*vg.Length(len(panels)), h)
	dc := draw.New(img)
	canvases := plot.Align(plots, draw.Tiles{Rows: 1, Cols: len(panels), PadX: 4 * vg.Millimeter}, dc)
	for i, p := range plots[0] {
		p.Draw(canvases[0][i])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

const (
	plotW = 11 * vg.Centimeter
	plotH = 8 * vg.Centimeter
)

func longRangePlot(lr *LongRange) ([]byte, error) {
	var ks []float64
	var acc [2][]float64
	for _, pt := range lr.Points {
		ks = append(ks, float64(pt.K))
		acc[0] = append(acc[0], pt.Token.Transformer)
		acc[1] = append(acc[1], pt.Token.LSTM)
	}
	pn := panel{title: fmt.Sprintf("lag<k>: held-out token accuracy (%d steps)", lr.Steps), x: "distance k (target[i] = input[i−k])", y: "token accuracy", unit: true, xAtData: true}
	for m := range 2 {
		pn.lines = append(pn.lines, series{name: modelNames[m], xs: ks, ys: acc[m], color: modelColors[m]})
	}
	return drawPanels(plotW, plotH, pn)
}

func gradientPlot(g *Gradients) ([]byte, error) {
	var panels []panel
	for _, stage := range []string{"init", "trained"} {
		pn := panel{title: fmt.Sprintf("%s, %s: ‖∂L_j/∂x_i‖", g.Task, stage), x: "distance j − i", y: "mean gradient norm", logY: true}
		for _, c := range g.Curves {
			if c.Stage != stage {
				continue
			}
			m := 0
			if c.Model == modelNames[1] {
				m = 1
			}
			xs := make([]float64, len(c.Distance))
			for i, d := range c.Distance {
				xs[i] = float64(d)
			}
			pn.lines = append(pn.lines, series{name: c.Model, xs: xs, ys: c.MeanNorm, color: modelColors[m]})
		}
		panels = append(panels, pn)
	}
	return drawPanels(plotW, plotH, panels...)
}

func timingPlot(pr *Parallelism) ([]byte, error) {
	var ts, ms [2][]float64
	var ds [2][]float64
	for _, pt := range pr.Points {
		for m := range 2 {
			ts[m] = append(ts[m], float64(pt.T))
		}
		ms[0] = append(ms[0], pt.Transformer.Median)
		ms[1] = append(ms[1], pt.LSTM.Median)
		ds[0] = append(ds[0], float64(pt.TransformerDepth))
		ds[1] = append(ds[1], float64(pt.LSTMDepth))
	}
	time := panel{title: fmt.Sprintf("time per training step (batch %d, median of %d)", pr.Batch, pr.Reps), x: "sequence length T", y: "milliseconds", logX: true, logY: true}
	depth := panel{title: "sequential depth (dependent steps)", x: "sequence length T", y: "steps", logX: true, logY: true}
	for m := range 2 {
		time.lines = append(time.lines, series{name: modelNames[m], xs: ts[m], ys: ms[m], color: modelColors[m]})
		depth.lines = append(depth.lines, series{name: modelNames[m], xs: ts[m], ys: ds[m], color: modelColors[m]})
	}
	return drawPanels(plotW, plotH, time, depth)
}

func parityPlot(nc *NegativeControl) ([]byte, error) {
	var ls []float64
	var acc [2][]float64
	for _, pt := range nc.Points {
		ls = append(ls, float64(pt.Len))
		acc[0] = append(acc[0], pt.Token.Transformer)
		acc[1] = append(acc[1], pt.Token.LSTM)
	}
	pn := panel{title: fmt.Sprintf("%s: token accuracy by length (%d steps)", nc.Task, nc.Steps), x: "sequence length", y: "token accuracy", unit: true, xAtData: true,
		vline: float64(nc.TrainMaxLen), vlineName: "longest trained"}
	for m := range 2 {
		pn.lines = append(pn.lines, series{name: modelNames[m], xs: ls, ys: acc[m], color: modelColors[m]})
	}
	return drawPanels(plotW, plotH, pn)
}
