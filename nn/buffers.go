package nn

import (
	"gorgonia.org/tensor"
)

// Buffers is memory that the op outputs of several programs share, for
// programs that take turns and never need each other's values: a training
// run's graphs (one per padded length) and the evaluation graphs it
// validates with. Every op output of a program is scratch of one run — the
// loss, gradients and outputs a caller reads are copied out of the graph
// (Program.Loss, Grads, Output) — so the next program may overwrite it. The
// programs of a Buffers then take as much memory as the largest of them
// rather than their sum.
//
// A Buffers is not safe for programs that run at the same time: give each
// goroutine's programs their own, or none (Graph.ShareBuffers).
type Buffers struct {
	f32 []float32
	f64 []float64
}

// NewBuffers returns empty shared buffers; they grow to the largest
// program that uses them.
func NewBuffers() *Buffers { return &Buffers{} }

// ShareBuffers makes the program compiled from g keep the outputs of its
// ops in b, which other programs share (see Buffers). Call it before
// Compile.
func (g *Graph) ShareBuffers(b *Buffers) { g.buf = b }

// bufAlign keeps every op's region a multiple of 64 bytes (16 float32s) from
// the start of the buffer.
const bufAlign = 16

// layout gives every op of g that has a tensor output its own region of
// g's shared buffers, laid out one after another, and returns the elements
// they take together. Regions of one program never overlap: within a run
// every op's output may be read by the backward pass.
func layout(g *Graph) int {
	if g.buf == nil {
		return 0
	}
	off := 0
	for _, n := range g.g.AllNodes() {
		op, ok := n.Op().(*customOp)
		if !ok || n.Shape().IsScalar() {
			continue
		}
		size := n.Shape().TotalSize()
		op.buf, op.off, op.size = g.buf, off, size
		off += (size + bufAlign - 1) / bufAlign * bufAlign
	}
	return off
}

// Reserve sizes b, before any of them runs, for the largest of progs,
// programs compiled to share it: in one allocation, where running them
// one after another would grow the buffers from one program's size to the
// next, each old allocation alive beside the new until the collector
// frees it. Programs that do not share b are ignored.
func (b *Buffers) Reserve(progs ...*Program) {
	n := map[tensor.Dtype]int{}
	for _, p := range progs {
		if p.g.buf == b {
			n[p.g.dt] = max(n[p.g.dt], p.bufLen)
		}
	}
	for dt, n := range n {
		b.reserve(dt, n)
	}
}

// reserve makes the buffers of dt hold at least n elements. Growing drops
// the old memory: ops still viewing it make new views at their next run.
func (b *Buffers) reserve(dt tensor.Dtype, n int) {
	switch dt {
	case tensor.Float32:
		if len(b.f32) < n {
			b.f32 = nil // let the collector take the old memory first
			b.f32 = make([]float32, n)
		}
	case tensor.Float64:
		if len(b.f64) < n {
			b.f64 = nil
			b.f64 = make([]float64, n)
		}
	}
}

// view returns a tensor of shape over elements [off, off+n) of the buffers
// of dt: old itself when it already is that view, nil when the buffers do
// not hold the region.
func (b *Buffers) view(dt tensor.Dtype, off int, shape tensor.Shape, old *tensor.Dense) *tensor.Dense {
	n := shape.TotalSize()
	switch dt {
	case tensor.Float32:
		return viewOf(b.f32, off, n, shape, old)
	case tensor.Float64:
		return viewOf(b.f64, off, n, shape, old)
	}
	return nil
}

func viewOf[T Float](buf []T, off, n int, shape tensor.Shape, old *tensor.Dense) *tensor.Dense {
	if n == 0 || off+n > len(buf) {
		return nil
	}
	s := buf[off : off+n : off+n]
	if old != nil && old.Shape().Eq(shape) {
		if d, ok := old.Data().([]T); ok && len(d) == n && &d[0] == &s[0] {
			return old
		}
	}
	return tensor.New(tensor.WithBacking(s), tensor.WithShape(shape.Clone()...))
}
