package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Multi-head attention without reshapes or transposes: the heads of a
// projection x [B, T, D] are its column blocks x[b, :, h·Dk:(h+1)·Dk], and
// the two ops below multiply those blocks in place with strided matrix
// products, where a graph of Reshape, Transpose and BatchedMatMul would copy
// every tensor twice.

// HeadScores returns the per-head products S[b,h] = A_h·B_hᵀ:
// a, b [B, T, D] with D = heads·Dk → [B, H, T, T]. With a = Q and b = K it
// gives the attention scores QKᵀ of every head.
func HeadScores(a, b *G.Node, heads int) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	if len(as) != 3 || !as.Eq(bs) || heads <= 0 || as[2]%heads != 0 {
		return nil, fmt.Errorf("nn: head scores: shapes %v and %v do not split into %d heads", as, bs, heads)
	}
	op := &customOp{
		name:    fmt.Sprintf("HeadScores{%d}", heads),
		inDims:  dimsOf(a, b),
		outDims: 4,
		shape: func(s []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{s[0][0], heads, s[0][1], s[0][1]}, nil
		},
		k:   kernelOf(headScoresFwd[float32](heads), headScoresFwd[float64](heads)),
		wrt: []bool{true, true},
		diff: func(in G.Nodes, _, gs *G.Node) (G.Nodes, error) {
			ga, err := HeadMix(gs, in[1], false) // gA_h = gS·B_h
			if err != nil {
				return nil, err
			}
			gb, err := HeadMix(gs, in[0], true) // gB_h = gSᵀ·A_h
			if err != nil {
				return nil, err
			}
			return G.Nodes{ga, gb}, nil
		},
	}
	return apply(op, a, b)
}

func headScoresFwd[T Float](heads int) func([]T, [][]T, []tensor.Shape) error {
	return func(s []T, in [][]T, sh []tensor.Shape) error {
		a, b := in[0], in[1]
		nb, t, d := sh[0][0], sh[0][1], sh[0][2]
		dk := d / heads
		gemmBatch(nb*heads, func(j int) gemmArgs[T] {
			off := (j/heads)*t*d + (j%heads)*dk
			return gemmArgs[T]{TransB: true, M: t, N: t, K: dk, A: a[off:], LDA: d, B: b[off:], LDB: d, C: s[j*t*t:], LDC: t}
		})
		return nil
	}
}

// HeadMix returns the per-head products out_h = op(S[b,h])·X_h, where op is
// the identity or, with trans, the transpose: s [B, H, T, T], x [B, T, D]
// → [B, T, D]. With s = attention weights and x = V it mixes the values
// and concatenates the heads in one step.
func HeadMix(s, x *G.Node, trans bool) (*G.Node, error) {
	ss, xs := s.Shape(), x.Shape()
	if len(ss) != 4 || len(xs) != 3 || ss[0] != xs[0] || ss[2] != xs[1] || ss[3] != xs[1] || xs[2]%ss[1] != 0 {
		return nil, fmt.Errorf("nn: head mix: weights %v and values %v do not fit (want [B,H,T,T] and [B,T,H·Dk])", ss, xs)
	}
	op := &customOp{
		name:    fmt.Sprintf("HeadMix{%v}", trans),
		inDims:  dimsOf(s, x),
		outDims: 3,
		shape:   func(s []tensor.Shape) (tensor.Shape, error) { return s[1].Clone(), nil },
		k:       kernelOf(headMixFwd[float32](trans), headMixFwd[float64](trans)),
		wrt:     []bool{true, true},
		diff: func(in G.Nodes, _, gout *G.Node) (G.Nodes, error) {
			heads := in[0].Shape()[1]
			var gs, gx *G.Node
			var err error
			if trans { // out_h = Sᵀ·X_h: gS = X_h·gout_hᵀ, gX_h = S·gout_h
				gs, err = HeadScores(in[1], gout, heads)
			} else { // out_h = S·X_h: gS = gout_h·X_hᵀ, gX_h = Sᵀ·gout_h
				gs, err = HeadScores(gout, in[1], heads)
			}
			if err != nil {
				return nil, err
			}
			if gx, err = HeadMix(in[0], gout, !trans); err != nil {
				return nil, err
			}
			return G.Nodes{gs, gx}, nil
		},
	}
	return apply(op, s, x)
}

func headMixFwd[T Float](trans bool) func([]T, [][]T, []tensor.Shape) error {
	return func(out []T, in [][]T, sh []tensor.Shape) error {
		s, x := in[0], in[1]
		nb, heads, t := sh[0][0], sh[0][1], sh[0][2]
		d := sh[1][2]
		dk := d / heads
		gemmBatch(nb*heads, func(j int) gemmArgs[T] {
			off := (j/heads)*t*d + (j%heads)*dk
			return gemmArgs[T]{TransA: trans, M: t, N: dk, K: t, A: s[j*t*t:], LDA: t, B: x[off:], LDB: d, C: out[off:], LDC: d}
		})
		return nil
	}
}
