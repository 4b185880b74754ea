package train

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress shows a run's progress: a live bar on a terminal (step/total,
// loss, tokens/s, ETA), or one plain line per logging window when the
// output is a file or a CI log, never a stream of carriage returns. The
// zero Progress shows nothing.
type Progress struct {
	w           io.Writer
	interactive bool
	bar         *progressbar.ProgressBar // made by Start, which knows the total
	total       int
	start       time.Time
	first       int
}

// NewProgress reports to w; interactive selects the live bar. Nothing is
// drawn before Start: a bar made without its total showed "(0/1)".
func NewProgress(w io.Writer, interactive bool) Progress {
	return Progress{w: w, interactive: interactive}
}

// Start begins at step of total.
func (p *Progress) Start(step, total int) {
	p.total, p.start, p.first = total, time.Now(), step
	if p.interactive && p.w != nil {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		_ = p.bar.Set(step)
	}
}

// SetProgress directs progress reports of t.
func (t *Trainer) SetProgress(p Progress) { t.progress = p }

// Update moves the bar after a step.
func (p *Progress) Update(step int, loss, tokensPerSec float64) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("loss %.4f  %6.0f tok/s", loss, tokensPerSec))
	_ = p.bar.Set(step)
}

// Log reports a logging window in plain mode.
func (p *Progress) Log(step int, loss, tokensPerSec, stepsPerSec float64) {
	if p.w == nil || p.interactive {
		return
	}
	eta := time.Duration(float64(p.total-step) / stepsPerSec * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(p.w, "step %d/%d  loss %.4f  %.0f tok/s  eta %v\n", step, p.total, loss, tokensPerSec, eta)
}

// Eval reports validation metrics.
func (p *Progress) Eval(step int, m Metrics) {
	p.Printf("step %d: validation loss %.4f, token accuracy %.2f%%, sequence accuracy %.2f%%\n",
		step, m.Loss, 100*m.TokenAccuracy, 100*m.SequenceAccuracy)
}

// Printf writes a message, above the bar if there is one.
func (p *Progress) Printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, format, args...)
	if p.bar != nil {
		_ = p.bar.RenderBlank()
	}
}

// Finish ends the bar.
func (p *Progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
