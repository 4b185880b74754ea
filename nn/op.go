package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/chewxy/hm"
)

// Float is the element type of every tensor qkv computes with.
type Float interface{ float32 | float64 }

// kernel computes an op's output from its inputs. out is fully overwritten.
// Both instantiations are given so one op serves float32 and float64 graphs.
type kernel struct {
	f32 func(out []float32, in [][]float32, shapes []tensor.Shape) error
	f64 func(out []float64, in [][]float64, shapes []tensor.Shape) error
}

func kernelOf(f32 func([]float32, [][]float32, []tensor.Shape) error, f64 func([]float64, [][]float64, []tensor.Shape) error) kernel {
	return kernel{f32: f32, f64: f64}
}

// customOp is a Gorgonia op whose forward pass is a hand-written kernel over
// contiguous float slices and whose backward pass (if any) is built from
// further custom ops. The ops Gorgonia lacks or gets wrong (layer norm,
// masked softmax, cross-entropy, GELU) and the fused ones that save time
// (linear, embedding) are all customOps.
type customOp struct {
	name    string // includes every parameter, so equal names mean equal ops
	inDims  []int  // dims of each input, for the type system
	outDims int
	shape   func(in []tensor.Shape) (tensor.Shape, error)
	k       kernel
	// diff returns one gradient node per input (nil where wrt is false).
	diff func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error)
	wrt  []bool
	out  *tensor.Dense // the output of the last run, reused by the next
	// buf, when a program shares its buffers (Graph.ShareBuffers), holds
	// the output at elements [off, off+size).
	buf       *Buffers
	off, size int
}

var (
	_ G.Op              = (*customOp)(nil)
	_ G.SDOp            = (*customOp)(nil)
	_ G.UsePreallocDoer = (*customOp)(nil)
)

func (op *customOp) Arity() int { return len(op.inDims) }

func tensorType(dims int, of hm.Type) hm.Type {
	if dims == 0 {
		return of
	}
	return G.TensorType{Dims: dims, Of: of}
}

func (op *customOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(op.inDims)+1)
	for _, d := range op.inDims {
		ts = append(ts, tensorType(d, a))
	}
	ts = append(ts, tensorType(op.outDims, a))
	return hm.NewFnType(ts...)
}

func (op *customOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	shapes := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("nn: %s: input %d has no shape", op.name, i)
		}
		shapes[i] = s
	}
	return op.shape(shapes)
}

func (op *customOp) ReturnsPtr() bool     { return false }
func (op *customOp) CallsExtern() bool    { return false }
func (op *customOp) OverwritesInput() int { return -1 }
func (op *customOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "qkv.%s", op.name)
}
func (op *customOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *customOp) String() string { return op.name }

func (op *customOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

// output returns the op's own output tensor, allocated on the first run and
// reused by every later run of the same shape. Gorgonia's tape machine
// forgets its values at each Reset and would otherwise allocate every
// output of every op again at every step; kernels overwrite all of out, so
// nothing of the last run shows through. A program that shares its
// buffers keeps the output in its region of them instead.
func (op *customOp) output(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	if op.buf != nil && shape.TotalSize() <= op.size {
		if t := op.buf.view(dt, op.off, shape, op.out); t != nil {
			op.out = t
			return t
		}
	}
	if op.out == nil || op.out.Dtype() != dt || !op.out.Shape().Eq(shape) {
		op.out = tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
	}
	return op.out
}

// UsePreallocDo computes into prealloc when the tape machine offers a value
// of the right dtype and shape (a register whose last value is dead), and
// into the op's own output otherwise (Do offers none).
func (op *customOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	shapes, err := op.shapesOf(in)
	if err != nil {
		return nil, err
	}
	outShape, err := op.shape(shapes)
	if err != nil {
		return nil, err
	}
	if outShape.IsScalar() {
		return op.doScalar(in[0].Dtype(), in, shapes)
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || out.Dtype() != in[0].Dtype() || !out.Shape().Eq(outShape) || !out.IsNativelyAccessible() || out.IsView() {
		out = op.output(in[0].Dtype(), outShape)
	}
	return op.run(out, in, shapes)
}

// run computes the op's kernel into out.
func (op *customOp) run(out *tensor.Dense, in []G.Value, shapes []tensor.Shape) (G.Value, error) {
	switch o := out.Data().(type) {
	case []float32:
		ins, err := slicesOf[float32](op.name, in)
		if err != nil {
			return nil, err
		}
		return out, op.safely(func() error { return op.k.f32(o, ins, shapes) })
	case []float64:
		ins, err := slicesOf[float64](op.name, in)
		if err != nil {
			return nil, err
		}
		return out, op.safely(func() error { return op.k.f64(o, ins, shapes) })
	}
	return nil, fmt.Errorf("nn: %s: unsupported dtype %v", op.name, out.Dtype())
}

// doScalar runs a kernel whose output is a scalar, which Gorgonia holds as a
// *G.F32 or *G.F64 rather than a tensor.
func (op *customOp) doScalar(dt tensor.Dtype, in []G.Value, shapes []tensor.Shape) (G.Value, error) {
	if dt == tensor.Float32 {
		ins, err := slicesOf[float32](op.name, in)
		if err != nil {
			return nil, err
		}
		out := []float32{0}
		err = op.safely(func() error { return op.k.f32(out, ins, shapes) })
		return G.NewF32(out[0]), err
	}
	ins, err := slicesOf[float64](op.name, in)
	if err != nil {
		return nil, err
	}
	out := []float64{0}
	err = op.safely(func() error { return op.k.f64(out, ins, shapes) })
	return G.NewF64(out[0]), err
}

// safely runs a kernel, turning a panic (an index out of range on inputs
// the shape checks did not foresee) into an error. Gorgonia runs ops on a
// goroutine of its own, where a panic would end the whole program.
func (op *customOp) safely(k func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nn: %s: %v", op.name, r)
		}
	}()
	return k()
}

func (op *customOp) shapesOf(in []G.Value) ([]tensor.Shape, error) {
	if len(in) != len(op.inDims) {
		return nil, fmt.Errorf("nn: %s: got %d inputs, want %d", op.name, len(in), len(op.inDims))
	}
	shapes := make([]tensor.Shape, len(in))
	for i, v := range in {
		shapes[i] = v.Shape()
	}
	return shapes, nil
}

func slicesOf[T Float](name string, in []G.Value) ([][]T, error) {
	out := make([][]T, len(in))
	for i, v := range in {
		if x, ok := v.Data().(T); ok { // a scalar
			out[i] = []T{x}
			continue
		}
		s, ok := v.Data().([]T)
		if !ok {
			return nil, fmt.Errorf("nn: %s: input %d has dtype %v, want all inputs alike", name, i, v.Dtype())
		}
		if len(s) != v.Shape().TotalSize() {
			return nil, fmt.Errorf("nn: %s: input %d is not contiguous", name, i)
		}
		out[i] = s
	}
	return out, nil
}

func (op *customOp) DiffWRT(n int) []bool {
	if op.wrt == nil {
		return make([]bool, n)
	}
	return op.wrt
}

func (op *customOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if op.diff == nil {
		return nil, fmt.Errorf("nn: %s is not differentiable", op.name)
	}
	return op.diff(inputs, output, grad)
}

// apply applies op to inputs, wrapping the error with the op's name.
func apply(op *customOp, inputs ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(op, inputs...)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", op.name, err)
	}
	return n, nil
}

func dimsOf(nodes ...*G.Node) []int {
	d := make([]int, len(nodes))
	for i, n := range nodes {
		d[i] = n.Dims()
	}
	return d
}

// rows splits a shape into (number of rows, row length) over its last axis.
func rows(s tensor.Shape) (n, d int) {
	if len(s) == 0 {
		return 1, 1
	}
	d = s[len(s)-1]
	if d == 0 {
		return 0, 0
	}
	return s.TotalSize() / d, d
}

func sameShape(in []tensor.Shape) (tensor.Shape, error) {
	return in[0].Clone(), nil
}
