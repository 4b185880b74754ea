package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressFunc starts an experiment's progress report of total units.
type progressFunc func(name string, total int) reporter

// reporter advances one experiment's progress.
type reporter interface {
	Step(what string) // one unit done
	Done()
}

// progressTo reports to w: a bar per experiment on a terminal, plain lines
// otherwise, never carriage returns into a log.
func progressTo(w io.Writer, interactive bool) progressFunc {
	return func(name string, total int) reporter {
		if !interactive {
			fmt.Fprintf(w, "%s: %d parts\n", name, total)
			return &lines{w: w, name: name, total: total, start: time.Now()}
		}
		return &bar{progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(25),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		), name}
	}
}

type bar struct {
	b    *progressbar.ProgressBar
	name string
}

func (b *bar) Step(what string) {
	b.b.Describe(b.name + ": " + what)
	_ = b.b.Add(1)
}

func (b *bar) Done() { _ = b.b.Finish() }

type lines struct {
	w        io.Writer
	name     string
	n, total int
	start    time.Time
}

func (l *lines) Step(what string) {
	l.n++
	fmt.Fprintf(l.w, "%s: %d/%d %s (%.0f s)\n", l.name, l.n, l.total, what, time.Since(l.start).Seconds())
}

func (l *lines) Done() {}

// quiet reports nothing.
func quiet(string, int) reporter { return nopReporter{} }

type nopReporter struct{}

func (nopReporter) Step(string) {}
func (nopReporter) Done()       {}
