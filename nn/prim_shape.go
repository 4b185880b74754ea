package nn

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// axis resolves a possibly negative axis of a tensor of n dimensions.
func axis(a, n int) (int, error) {
	if a < 0 {
		a += n
	}
	if a < 0 || a >= n {
		return 0, fmt.Errorf("axis %d out of range for %d dimensions", a, n)
	}
	return a, nil
}

// Reshape returns x's elements, in row-major order, in the given shape; one
// dimension may be −1 and is then inferred. An empty shape makes a scalar of
// a one-element x. gx = reshape(gy, x's shape).
func Reshape(x *G.Node, shape ...int) (*G.Node, error) {
	xs := x.Shape().Clone()
	to := tensor.Shape(slices.Clone(shape))
	infer, known := -1, 1
	for i, d := range to {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d <= 0:
			return nil, fmt.Errorf("nn: reshape: bad shape %v", shape)
		default:
			known *= d
		}
	}
	if infer >= 0 && known > 0 {
		to[infer] = size(xs) / known
	}
	if size(to) != size(xs) {
		return nil, fmt.Errorf("nn: reshape: cannot reshape %v to %v", xs, shape)
	}
	op := &customOp{
		name:    fmt.Sprintf("Reshape%v", to),
		inDims:  dimsOf(x),
		outDims: len(to),
		shape:   fixed(to),
		k:       kernelOf(copyFwd[float32], copyFwd[float64]),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := Reshape(gy, xs...)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func copyFwd[T Float](y []T, in [][]T, _ []tensor.Shape) error {
	copy(y, in[0])
	return nil
}

// Permute reorders x's axes: y's axis i is x's axis perm[i], as
// torch.permute. gx = permute(gy, perm⁻¹).
func Permute(x *G.Node, perm ...int) (*G.Node, error) {
	xs := x.Shape().Clone()
	if len(perm) != len(xs) {
		return nil, fmt.Errorf("nn: permute: %v is not a permutation of the axes of %v", perm, xs)
	}
	inv := make([]int, len(perm))
	seen := make([]bool, len(perm))
	out := make(tensor.Shape, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("nn: permute: %v is not a permutation of the axes of %v", perm, xs)
		}
		seen[p], inv[p], out[i] = true, i, xs[p]
	}
	perm = slices.Clone(perm)
	op := &customOp{
		name:    fmt.Sprintf("Permute%v", perm),
		inDims:  dimsOf(x),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(permuteFwd[float32](perm, out), permuteFwd[float64](perm, out)),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := Permute(gy, inv...)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func permuteFwd[T Float](perm []int, out tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x := in[0]
		xst := make([]int, len(s[0])) // x's row-major strides
		st := 1
		for i := len(s[0]) - 1; i >= 0; i-- {
			xst[i] = st
			st *= s[0][i]
		}
		ost := make([]int, len(out)) // x's stride along each axis of y
		for i, p := range perm {
			ost[i] = xst[p]
		}
		walk(out, [][]int{ost}, func(o int, idx []int) { y[o] = x[idx[0]] })
		return nil
	}
}

// Transpose swaps axes a and b of x (negative axes count from the end):
// Permute with those two exchanged.
func Transpose(x *G.Node, a, b int) (*G.Node, error) {
	n := x.Dims()
	a, err := axis(a, n)
	if err != nil {
		return nil, fmt.Errorf("nn: transpose: %w", err)
	}
	if b, err = axis(b, n); err != nil {
		return nil, fmt.Errorf("nn: transpose: %w", err)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = b, a
	return Permute(x, perm...)
}

// blocks splits a shape around axis ax into (outer, size along ax, inner).
func blocks(s tensor.Shape, ax int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range s[:ax] {
		outer *= d
	}
	for _, d := range s[ax+1:] {
		inner *= d
	}
	return outer, s[ax], inner
}

// Slice returns x[..., start:end, ...] along axis ax, as x.narrow(ax,
// start, end−start). gx is gy placed back in a tensor of zeros (one small
// kernel, itself differentiable by Slice).
func Slice(x *G.Node, ax, start, end int) (*G.Node, error) {
	xs := x.Shape().Clone()
	ax, err := axis(ax, len(xs))
	if err != nil {
		return nil, fmt.Errorf("nn: slice: %w", err)
	}
	if start < 0 || end > xs[ax] || start >= end {
		return nil, fmt.Errorf("nn: slice: [%d:%d] out of range for axis %d of %v", start, end, ax, xs)
	}
	out := xs.Clone()
	out[ax] = end - start
	op := &customOp{
		name:    fmt.Sprintf("Slice{%d,%d,%d}", ax, start, end),
		inDims:  dimsOf(x),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(sliceFwd[float32](ax, start, end), sliceFwd[float64](ax, start, end)),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := unslice(gy, xs, ax, start)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func sliceFwd[T Float](ax, start, end int) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		outer, n, inner := blocks(s[0], ax)
		w := (end - start) * inner
		for o := 0; o < outer; o++ {
			copy(y[o*w:(o+1)*w], in[0][(o*n+start)*inner:])
		}
		return nil
	}
}

// unslice places g, a slice of a tensor of shape to starting at start along
// ax, into zeros of shape to: the gradient of Slice.
func unslice(g *G.Node, to tensor.Shape, ax, start int) (*G.Node, error) {
	to = to.Clone()
	end := start + g.Shape()[ax]
	op := &customOp{
		name:    fmt.Sprintf("Unslice%v{%d,%d}", to, ax, start),
		inDims:  dimsOf(g),
		outDims: len(to),
		shape:   fixed(to),
		k:       kernelOf(unsliceFwd[float32](to, ax, start, end), unsliceFwd[float64](to, ax, start, end)),
		wrt:     []bool{true},
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gg, err := Slice(gy, ax, start, end)
			return G.Nodes{gg}, err
		},
	}
	return apply(op, g)
}

func unsliceFwd[T Float](to tensor.Shape, ax, start, end int) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, _ []tensor.Shape) error {
		clear(y)
		outer, n, inner := blocks(to, ax)
		w := (end - start) * inner
		for o := 0; o < outer; o++ {
			copy(y[(o*n+start)*inner:], in[0][o*w:(o+1)*w])
		}
		return nil
	}
}

// Concat joins xs along axis ax; every other axis must agree. The gradient
// of each part is its Slice of gy.
func Concat(ax int, xs ...*G.Node) (*G.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("nn: concat: nothing to join")
	}
	s0 := xs[0].Shape()
	ax, err := axis(ax, len(s0))
	if err != nil {
		return nil, fmt.Errorf("nn: concat: %w", err)
	}
	out := s0.Clone()
	out[ax] = 0
	offs := make([]int, len(xs)+1)
	for i, x := range xs {
		s := x.Shape()
		for j := range s {
			if len(s) != len(s0) || (j != ax && s[j] != s0[j]) {
				return nil, fmt.Errorf("nn: concat: shapes %v and %v differ off axis %d", s0, s, ax)
			}
		}
		out[ax] += s[ax]
		offs[i+1] = out[ax]
	}
	op := &customOp{
		name:    fmt.Sprintf("Concat{%d}%v", ax, offs),
		inDims:  dimsOf(xs...),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(concatFwd[float32](ax, offs), concatFwd[float64](ax, offs)),
		wrt:     slices.Repeat([]bool{true}, len(xs)),
		diff: func(_ G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gs := make(G.Nodes, len(xs))
			for i := range xs {
				var err error
				if gs[i], err = Slice(gy, ax, offs[i], offs[i+1]); err != nil {
					return nil, err
				}
			}
			return gs, nil
		},
	}
	return apply(op, xs...)
}

func concatFwd[T Float](ax int, offs []int) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		outer, _, inner := blocks(s[0], ax)
		total := offs[len(offs)-1] * inner
		for i, x := range in {
			w := (offs[i+1] - offs[i]) * inner
			for o := 0; o < outer; o++ {
				copy(y[o*total+offs[i]*inner:][:w], x[o*w:(o+1)*w])
			}
		}
		return nil
	}
}

// MaskedFill returns x with value wherever mask (broadcast to x's shape) is
// non-zero, as torch.masked_fill: gx = gy with zeros where filled. mask
// gets no gradient.
func MaskedFill(x, mask *G.Node, value float64) (*G.Node, error) {
	return maskedFill(x, mask, value, false)
}

// maskedFill is MaskedFill, or with inverted the same where mask is zero.
func maskedFill(x, mask *G.Node, value float64, inverted bool) (*G.Node, error) {
	xs, ms := x.Shape().Clone(), mask.Shape()
	if b, err := broadcastShape(xs, ms); err != nil || !slices.Equal(b, xs) {
		return nil, fmt.Errorf("nn: masked fill: mask %v does not broadcast to %v", ms, xs)
	}
	op := &customOp{
		name:    fmt.Sprintf("MaskedFill{%g,%v}%v", value, inverted, ms),
		inDims:  dimsOf(x, mask),
		outDims: len(xs),
		shape:   sameShape,
		k:       kernelOf(maskedFillFwd[float32](value, inverted), maskedFillFwd[float64](value, inverted)),
		wrt:     []bool{true, false},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gx, err := maskedFill(gy, in[1], 0, inverted)
			return G.Nodes{gx, nil}, err
		},
	}
	return apply(op, x, mask)
}

func maskedFillFwd[T Float](value float64, inverted bool) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		x, m := in[0], in[1]
		walk(s[0], [][]int{bstrides(s[1], s[0])}, func(o int, idx []int) {
			if (m[idx[0]] != 0) != inverted {
				y[o] = T(value)
			} else {
				y[o] = x[o]
			}
		})
		return nil
	}
}

// Where returns a where cond is non-zero and b elsewhere, all three
// broadcast to one shape, as torch.where: ga = Σ gy where cond, gb = Σ gy
// where not. cond gets no gradient.
func Where(cond, a, b *G.Node) (*G.Node, error) {
	cs, as, bs := cond.Shape().Clone(), a.Shape().Clone(), b.Shape().Clone()
	out, err := broadcastShape(cs, as, bs)
	if err != nil {
		return nil, fmt.Errorf("nn: where: %w", err)
	}
	op := &customOp{
		name:    fmt.Sprintf("Where%v%v%v", cs, as, bs),
		inDims:  dimsOf(cond, a, b),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(whereFwd[float32](out), whereFwd[float64](out)),
		wrt:     []bool{false, true, true},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			ga, err := maskedFill(gy, in[0], 0, true)
			if err != nil {
				return nil, err
			}
			gb, err := maskedFill(gy, in[0], 0, false)
			if err != nil {
				return nil, err
			}
			if ga, err = reduceTo(ga, as); err != nil {
				return nil, err
			}
			if gb, err = reduceTo(gb, bs); err != nil {
				return nil, err
			}
			return G.Nodes{nil, ga, gb}, nil
		},
	}
	return apply(op, cond, a, b)
}

func whereFwd[T Float](out tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, s []tensor.Shape) error {
		c, a, b := in[0], in[1], in[2]
		walk(out, [][]int{bstrides(s[0], out), bstrides(s[1], out), bstrides(s[2], out)}, func(o int, idx []int) {
			if c[idx[0]] != 0 {
				y[o] = a[idx[1]]
			} else {
				y[o] = b[idx[2]]
			}
		})
		return nil
	}
}

// Gather looks up rows of a table: y[…] = table[ids[…]], table [V, D], ids
// [...] holding indices as floats → [..., D], as torch.nn.functional.
// embedding. gtable adds each row of gy into the row it came from; ids get
// no gradient. An id outside [0, V) is an error at run time.
func Gather(table, ids *G.Node) (*G.Node, error) {
	ts := table.Shape().Clone()
	if len(ts) != 2 {
		return nil, fmt.Errorf("nn: gather: table must be [V,D], got %v", ts)
	}
	out := append(ids.Shape().Clone(), ts[1])
	op := &customOp{
		name:    fmt.Sprintf("Gather%v", ts),
		inDims:  dimsOf(table, ids),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(gatherFwd[float32], gatherFwd[float64]),
		wrt:     []bool{true, false},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gt, err := apply(&customOp{
				name:    fmt.Sprintf("Scatter%v", ts),
				inDims:  dimsOf(in[1], gy),
				outDims: 2,
				shape:   fixed(ts),
				k:       kernelOf(scatterFwd[float32], scatterFwd[float64]),
			}, in[1], gy)
			return G.Nodes{gt, nil}, err
		},
	}
	return apply(op, table, ids)
}

// index validates a float index into [0, n).
func index[T Float](v T, n int) (int, error) {
	i := int(v)
	if T(i) != v || i < 0 || i >= n {
		return 0, fmt.Errorf("index %v outside [0, %d)", v, n)
	}
	return i, nil
}

func gatherFwd[T Float](y []T, in [][]T, s []tensor.Shape) error {
	table, ids := in[0], in[1]
	v, d := s[0][0], s[0][1]
	for r, id := range ids {
		i, err := index(id, v)
		if err != nil {
			return err
		}
		copy(y[r*d:(r+1)*d], table[i*d:(i+1)*d])
	}
	return nil
}

func scatterFwd[T Float](gt []T, in [][]T, s []tensor.Shape) error {
	ids, gy := in[0], in[1]
	clear(gt)
	d := s[1][len(s[1])-1]
	v := len(gt) / d
	for r, id := range ids {
		i, err := index(id, v)
		if err != nil {
			return err
		}
		for j, g := range gy[r*d : (r+1)*d] {
			gt[i*d+j] += g
		}
	}
	return nil
}

// OneHot returns y[…, c] = 1 where ids[…] = c, else 0: ids [...] holding
// class indices as floats → [..., n]. An id of −1 gives a row of zeros (an
// ignored target, see IgnoreTarget). ids are data and get no gradient.
func OneHot(ids *G.Node, n int) (*G.Node, error) {
	if n <= 0 {
		return nil, fmt.Errorf("nn: one-hot: %d classes", n)
	}
	out := append(ids.Shape().Clone(), n)
	op := &customOp{
		name:    fmt.Sprintf("OneHot{%d}", n),
		inDims:  dimsOf(ids),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(oneHotFwd[float32](n), oneHotFwd[float64](n)),
		wrt:     []bool{false},
		diff: func(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
			return G.Nodes{nil}, nil
		},
	}
	return apply(op, ids)
}

func oneHotFwd[T Float](n int) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, _ []tensor.Shape) error {
		clear(y)
		for r, id := range in[0] {
			if id == IgnoreTarget {
				continue
			}
			i, err := index(id, n)
			if err != nil {
				return err
			}
			y[r*n+i] = 1
		}
		return nil
	}
}
