package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Embed looks up rows of a table and scales them: y[…] = scale · table[id[…]].
// table [V, D], ids [...] holding token indices as floats → [..., D]. An id
// outside [0, V) is an error at run time.
func Embed(table, ids *G.Node, scale float64) (*G.Node, error) {
	ts := table.Shape()
	if len(ts) != 2 {
		return nil, fmt.Errorf("nn: embed: table must be [V,D], got %v", ts)
	}
	v, d := ts[0], ts[1]
	op := &customOp{
		name:    fmt.Sprintf("Embed{%g}", scale),
		inDims:  dimsOf(table, ids),
		outDims: ids.Dims() + 1,
		shape: func(s []tensor.Shape) (tensor.Shape, error) {
			return append(s[1].Clone(), d), nil
		},
		k:   kernelOf(embedFwd[float32](scale), embedFwd[float64](scale)),
		wrt: []bool{true, false},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gt, err := apply(&customOp{
				name:    fmt.Sprintf("EmbedGrad{%g,%d}", scale, v),
				inDims:  dimsOf(in[1], gy),
				outDims: 2,
				shape:   func([]tensor.Shape) (tensor.Shape, error) { return tensor.Shape{v, d}, nil },
				k:       kernelOf(embedGrad[float32](scale, v), embedGrad[float64](scale, v)),
			}, in[1], gy)
			return G.Nodes{gt, nil}, err
		},
	}
	return apply(op, table, ids)
}

func tokenID[T Float](x T, v int) (int, error) {
	id := int(x)
	if T(id) != x || id < 0 || id >= v {
		return 0, fmt.Errorf("nn: embed: token id %v outside [0, %d)", x, v)
	}
	return id, nil
}

func embedFwd[T Float](scale float64) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, sh []tensor.Shape) error {
		table, ids := in[0], in[1]
		v, d := sh[0][0], sh[0][1]
		for i, x := range ids {
			id, err := tokenID(x, v)
			if err != nil {
				return err
			}
			for j, w := range table[id*d : (id+1)*d] {
				y[i*d+j] = T(scale * float64(w))
			}
		}
		return nil
	}
}

func embedGrad[T Float](scale float64, v int) func([]T, [][]T, []tensor.Shape) error {
	return func(gt []T, in [][]T, _ []tensor.Shape) error {
		ids, gy := in[0], in[1]
		d := len(gt) / v
		clear(gt)
		for i, x := range ids {
			id, err := tokenID(x, v)
			if err != nil {
				return err
			}
			row := gt[id*d : (id+1)*d]
			for j, g := range gy[i*d : (i+1)*d] {
				row[j] += T(scale * float64(g))
			}
		}
		return nil
	}
}

// MaskedMean averages x over positions that are kept:
//
//	y[b] = Σₜ keep[b,t]·x[b,t] / Σₜ keep[b,t]
//
// x [B, T, D], keep [B, T] → [B, D]. A row with nothing kept gives zeros.
// It pools an encoder's output for sequence classification.
func MaskedMean(x, keep *G.Node) (*G.Node, error) {
	xs, ks := x.Shape(), keep.Shape()
	if len(xs) != 3 || len(ks) != 2 || xs[0] != ks[0] || xs[1] != ks[1] {
		return nil, fmt.Errorf("nn: masked mean: x %v and mask %v do not fit (want [B,T,D] and [B,T])", xs, ks)
	}
	op := &customOp{
		name:    "MaskedMean",
		inDims:  dimsOf(x, keep),
		outDims: 2,
		shape: func(s []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{s[0][0], s[0][2]}, nil
		},
		k:   kernelOf(maskedMeanFwd[float32], maskedMeanFwd[float64]),
		wrt: []bool{true, false},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			shape := in[0].Shape().Clone()
			gx, err := apply(&customOp{
				name:    fmt.Sprintf("MaskedMeanGrad%v", shape),
				inDims:  dimsOf(in[1], gy),
				outDims: 3,
				shape:   func([]tensor.Shape) (tensor.Shape, error) { return shape.Clone(), nil },
				k:       kernelOf(maskedMeanGrad[float32], maskedMeanGrad[float64]),
			}, in[1], gy)
			return G.Nodes{gx, nil}, err
		},
	}
	return apply(op, x, keep)
}

func keptCount[T Float](keep []T) float64 {
	var n float64
	for _, k := range keep {
		if k != 0 {
			n++
		}
	}
	return n
}

func maskedMeanFwd[T Float](y []T, in [][]T, sh []tensor.Shape) error {
	x, keep := in[0], in[1]
	b, t, d := sh[0][0], sh[0][1], sh[0][2]
	clear(y)
	for i := 0; i < b; i++ {
		k := keep[i*t : (i+1)*t]
		n := keptCount(k)
		if n == 0 {
			continue
		}
		yr := y[i*d : (i+1)*d]
		for j := 0; j < t; j++ {
			if k[j] == 0 {
				continue
			}
			for c, v := range x[(i*t+j)*d : (i*t+j+1)*d] {
				yr[c] += T(float64(v) / n)
			}
		}
	}
	return nil
}

func maskedMeanGrad[T Float](gx []T, in [][]T, sh []tensor.Shape) error {
	keep, gy := in[0], in[1]
	b, t := sh[0][0], sh[0][1]
	d := sh[1][1]
	clear(gx)
	for i := 0; i < b; i++ {
		k := keep[i*t : (i+1)*t]
		n := keptCount(k)
		for j := 0; j < t; j++ {
			if k[j] == 0 {
				continue
			}
			for c, g := range gy[i*d : (i+1)*d] {
				gx[(i*t+j)*d+c] = T(float64(g) / n)
			}
		}
	}
	return nil
}
