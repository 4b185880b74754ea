package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/qkv-dev/qkv/data"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Bounds beyond which a metric is not drawn. A diverging run can log
// values near the float64 limit; an axis spanning them overflows and
// gonum's tick generation then never ends, so such points are counted as
// off scale and left out instead.
const (
	curveLimit    = 1e12 // largest |value| drawn
	curveMaxStep  = 1e12 // largest step drawn
	curveLogRange = 1e12 // a log axis spans at most this factor
)

// curveField is one metric of metrics.jsonl and how it is drawn.
type curveField struct {
	key, label string
	points     bool // mark each point: validation and test are sparse
	color      color.Color
}

var (
	colTrain = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colVal   = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colSeq   = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colTest  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// curvePanel is one plot of the picture: fields on one y axis.
type curvePanel struct {
	title  string
	fields []curveField
	log    bool // log y where every value drawn is positive
	unit   bool // y fixed to [0, 1]
	rising bool // curves climb: the legend goes bottom right, out of their way
}

var curvePanels = []curvePanel{
	{title: "loss", log: true, fields: []curveField{
		{key: "loss", label: "training", color: colTrain},
		{key: "eval_loss", label: "validation", points: true, color: colVal},
		{key: "test_loss", label: "test (best checkpoint)", points: true, color: colTest},
	}},
	{title: "validation accuracy", unit: true, rising: true, fields: []curveField{
		{key: "eval_token_accuracy", label: "token", points: true, color: colVal},
		{key: "eval_sequence_accuracy", label: "sequence", points: true, color: colSeq},
		{key: "test_token_accuracy", label: "test token", points: true, color: colTest},
		{key: "test_sequence_accuracy", label: "test sequence", points: true, color: color.RGBA{R: 148, G: 103, B: 189, A: 255}},
	}},
	{title: "learning rate", fields: []curveField{{key: "lr", label: "lr", color: colTrain}}},
	{title: "gradient norm (before clipping)", log: true, fields: []curveField{{key: "grad_norm", label: "grad norm", color: colTrain}}},
}

// CurvesFile is the picture of its metrics that every run leaves in its
// directory when it ends (Trainer.Run) and that WriteCurves redraws.
const CurvesFile = "curves.png"

// WriteCurves draws the run's metrics, runDir/metrics.jsonl, against the
// step as one PNG at pngPath: training and validation loss (log scale
// where every value is positive), validation token and sequence accuracy
// on [0, 1], the learning rate and the gradient norm, with the final test
// line's numbers as points at its step. It reads what a run in progress or
// a killed one leaves: a torn or unparsable line is skipped, a panel with
// no values yet (no validation before the first evaluation) is drawn
// empty, and non-finite or absurd values (|v| > 1e12) are left out and
// counted in the panel's title. A step logged twice keeps its last line.
// The picture is written with WriteOutput: pngPath may be a device, a
// pipe or a link, which are written through, never replaced.
// It fails when the file is missing or
// holds no metrics.
func WriteCurves(runDir, pngPath string) error {
	img, err := CurvesPNG(runDir)
	if err != nil {
		return err
	}
	if err := WriteOutput(pngPath, img); err != nil {
		return fmt.Errorf("train: curves %s: %w", pngPath, unwrapPath(err))
	}
	return nil
}

// CurvesPNG draws the picture WriteCurves writes and returns it.
func CurvesPNG(runDir string) ([]byte, error) {
	return CurvesPNGContext(context.Background(), runDir)
}

// CurvesPNGContext is CurvesPNG stopped by ctx while it reads the metrics
// (a FIFO under that name waits for a writer), with an error that wraps
// ctx's cause.
func CurvesPNGContext(ctx context.Context, runDir string) ([]byte, error) {
	metricsPath := filepath.Join(runDir, fileMetrics)
	raw, err := data.ReadFileContext(ctx, metricsPath, DataFileLimit())
	if err != nil {
		return nil, fmt.Errorf("train: curves: %w", err)
	}
	series, offScale, lines := readCurves(raw)
	if lines == 0 {
		return nil, fmt.Errorf("train: curves: %s holds no metrics", metricsPath)
	}
	img, err := drawCurves(series, offScale, filepath.Base(filepath.Clean(runDir)))
	if err != nil {
		return nil, fmt.Errorf("train: curves: drawing: %w", err)
	}
	return img, nil
}

// readCurves returns each metric's points sorted by step, the number of
// values left out per metric, and how many lines had a usable step.
func readCurves(raw []byte) (series map[string]plotter.XYs, offScale map[string]int, lines int) {
	byStep := map[string]map[float64]float64{}
	offScale = map[string]int{}
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(line, &obj) != nil {
			continue // torn by a kill, or not ours
		}
		step, ok := curveNumber(obj["step"])
		if !ok || step < 0 || step > curveMaxStep || step != math.Trunc(step) {
			continue
		}
		lines++
		for _, p := range curvePanels {
			for _, f := range p.fields {
				v, present := obj[f.key]
				if !present {
					continue
				}
				x, ok := curveNumber(v)
				if !ok || math.Abs(x) > curveLimit {
					offScale[f.key]++
					continue
				}
				if byStep[f.key] == nil {
					byStep[f.key] = map[float64]float64{}
				}
				byStep[f.key][step] = x
			}
		}
	}
	series = map[string]plotter.XYs{}
	for key, m := range byStep {
		xys := make(plotter.XYs, 0, len(m))
		for s, v := range m {
			xys = append(xys, plotter.XY{X: s, Y: v})
		}
		slices.SortFunc(xys, func(a, b plotter.XY) int { return cmpFloat(a.X, b.X) })
		series[key] = xys
	}
	return series, offScale, lines
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// curveNumber reads a JSON number, or a string such as "NaN" or "-Inf" as
// other tools write them; ok is false for anything not finite.
func curveNumber(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false // a range error (1e999) is as good as Inf
	}
	return x, true
}

// drawCurves renders the panels in a 2×2 grid and returns the PNG.
func drawCurves(series map[string]plotter.XYs, offScale map[string]int, run string) ([]byte, error) {
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, xys := range series {
		for _, p := range xys {
			xlo, xhi = min(xlo, p.X), max(xhi, p.X)
		}
	}
	if xlo > xhi {
		xlo, xhi = 0, 1
	}
	if xlo == xhi {
		xlo, xhi = xlo-1, xhi+1
	}
	const cols = 2
	rows := (len(curvePanels) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	for i, panel := range curvePanels {
		p, err := drawPanel(panel, series, offScale)
		if err != nil {
			return nil, err
		}
		p.X.Min, p.X.Max = xlo, xhi
		if i == 0 && run != "" && run != "." {
			p.Title.Text = run + ": " + p.Title.Text
		}
		plots[i/cols][i%cols] = p
	}
	w, h := 14*vg.Centimeter, 9*vg.Centimeter
	img := vgimg.New(w*cols, h*vg.Length(rows))
	dc := draw.New(img) // white background
	canvases := plot.Align(plots, draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter, PadY: vg.Millimeter}, dc)
	for r := range plots {
		for c, p := range plots[r] {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// drawPanel builds one panel with explicit, finite, non-degenerate axis
// ranges, so that gonum never derives a range from the data itself.
func drawPanel(panel curvePanel, series map[string]plotter.XYs, offScale map[string]int) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "step"
	p.Legend.Top = !panel.rising
	var ys []float64
	skipped := 0
	for _, f := range panel.fields {
		skipped += offScale[f.key]
		for _, pt := range series[f.key] {
			ys = append(ys, pt.Y)
		}
	}
	logY := panel.log && len(ys) > 0 && !slices.ContainsFunc(ys, func(y float64) bool { return y <= 0 })
	var lo, hi float64
	switch {
	case panel.unit:
		lo, hi = 0, 1
	case len(ys) == 0:
		lo, hi = 0, 1
	case logY:
		lo, hi = logRange(ys)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	default:
		lo, hi = linearRange(ys)
	}
	drawn := 0
	for _, f := range panel.fields {
		var xys plotter.XYs
		for _, pt := range series[f.key] {
			if pt.Y < lo || pt.Y > hi {
				skipped++ // below a log axis's range, or outside [0, 1]
				continue
			}
			xys = append(xys, pt)
		}
		if len(xys) == 0 {
			continue
		}
		drawn += len(xys)
		if len(xys) > 1 {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color = f.color
			l.Width = vg.Points(1)
			p.Add(l)
			p.Legend.Add(f.label, l)
		}
		if f.points || len(xys) == 1 {
			s, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			s.Color, s.Shape, s.Radius = f.color, draw.CircleGlyph{}, vg.Points(2)
			p.Add(s)
			if len(xys) == 1 {
				p.Legend.Add(f.label, s)
			}
		}
	}
	p.Title.Text = panel.title
	if drawn == 0 {
		p.Title.Text += " (no values yet)"
	}
	if skipped > 0 {
		p.Title.Text += fmt.Sprintf(" (%d off-scale or non-finite values not drawn)", skipped)
	}
	p.Y.Min, p.Y.Max = lo, hi
	return p, nil
}

// linearRange returns [min, max] of ys with a 5% margin, at least a small
// span wide, so that a single point or a flat line has an axis.
func linearRange(ys []float64) (lo, hi float64) {
	lo, hi = slices.Min(ys), slices.Max(ys)
	span := hi - lo
	if minSpan := 1e-6*max(math.Abs(lo), math.Abs(hi)) + 1e-12; span < minSpan {
		mid := lo + span/2
		lo, hi, span = mid-minSpan/2, mid+minSpan/2, minSpan
	}
	return lo - 0.05*span, hi + 0.05*span
}

// logRange returns a log axis range covering ys (all > 0), at most
// curveLogRange wide (values further below the maximum fall off), and at
// least a factor 4 wide.
func logRange(ys []float64) (lo, hi float64) {
	lo, hi = slices.Min(ys), slices.Max(ys)
	lo = max(lo, hi/curveLogRange)
	if hi/lo < 4 {
		mid := math.Sqrt(lo * hi)
		lo, hi = mid/2, mid*2
	}
	return lo / 1.1, hi * 1.1
}

// logTicks marks a log axis at 1…9 × 10^k and labels the powers of ten,
// and 2× and 5× as well when the axis spans at most two decades. Gonum's
// LogTicks starts at the power of ten that truncation, not flooring,
// gives, and so draws no tick below 0.01 on an axis from 0.002 to 0.05.
// The axis spans at most curveLogRange, so the loop is short.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labelAll := hi/lo <= 100
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		decade := math.Pow10(int(e))
		for m := 1; m < 10; m++ {
			v := decade * float64(m)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || labelAll && (m == 2 || m == 5) {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
