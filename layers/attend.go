package layers

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/nn"
)

// Attend is multi-head scaled dot-product attention (Vaswani et al., 2017,
// section 3.2.1) from queries to keys of any length, with a mask value,
// written in nn's primitives alone, so it has no backward code of its own:
//
//	Attention(Q, K, V) = softmax(QKᵀ/√d_k + M)·V,  M = 0 where mask is 1, −∞ where 0
//
// q [B, Tq, D], k and v [B, Tk, D], each holding its heads side by side
// (head h in columns h·d_k…(h+1)·d_k). mask broadcasts to [B, H, Tq, Tk]
// and is 1 where a query may see a key: PaddingMask, CausalMask, their
// product, or nil for no mask. A query that may see no key gets zero
// weights and a zero output (where PyTorch gives NaN). dropout is the rate
// on the weights in a training graph, under name. It returns the output
// [B, Tq, D] and the weights [B, H, Tq, Tk] before dropout.
func Attend(g *nn.Graph, name string, q, k, v, mask *G.Node, heads int, dropout float64) (out, weights *G.Node, err error) {
	wrap := func(err error) error { return fmt.Errorf("layers: attend %q: %w", name, err) }
	qs, ks, vs := q.Shape(), k.Shape(), v.Shape()
	if len(qs) != 3 || len(ks) != 3 || !ks.Eq(vs) || qs[0] != ks[0] || qs[2] != ks[2] || heads <= 0 || qs[2]%heads != 0 {
		return nil, nil, wrap(fmt.Errorf("q %v, k %v, v %v do not fit %d heads (want [B,Tq,D], [B,Tk,D], [B,Tk,D])", qs, ks, vs, heads))
	}
	dk := qs[2] / heads
	// 1. Split the heads: [B,T,D] → [B,H,T,d_k].
	var qh, kh, vh *G.Node
	for _, p := range []struct {
		dst **G.Node
		x   *G.Node
	}{{&qh, q}, {&kh, k}, {&vh, v}} {
		if *p.dst, err = splitHeads(p.x, heads); err != nil {
			return nil, nil, wrap(err)
		}
	}
	// 2. Scores QKᵀ/√d_k: [B,H,Tq,Tk].
	scores, err := nn.MatMul(qh, kh, false, true)
	if err == nil {
		scores, err = nn.Scale(scores, 1/math.Sqrt(float64(dk)))
	}
	if err != nil {
		return nil, nil, wrap(err)
	}
	// 3. Weights: softmax over the keys a query may see, exactly zero on
	// the others.
	if mask == nil {
		weights, err = nn.Softmax(scores, -1)
	} else {
		weights, err = maskedSoftmax(scores, mask)
	}
	if err != nil {
		return nil, nil, wrap(err)
	}
	dropped, err := g.Dropout(name, weights, dropout)
	if err != nil {
		return nil, nil, wrap(err)
	}
	// 4. Mix the values and join the heads: [B,H,Tq,d_k] → [B,Tq,D].
	ctx, err := nn.MatMul(dropped, vh, false, false)
	if err == nil {
		out, err = joinHeads(ctx)
	}
	if err != nil {
		return nil, nil, wrap(err)
	}
	return out, weights, nil
}

// maskedSoftmax is softmax(s) over the last axis where mask is 1, and
// zero where it is 0. Masked scores become the lowest float32 rather than
// −∞, so that a row with nothing to see is a uniform softmax (then zeroed
// by the mask) instead of NaN.
func maskedSoftmax(s, mask *G.Node) (*G.Node, error) {
	hidden, err := nn.Neg(mask)
	if err == nil {
		hidden, err = nn.Shift(hidden, 1) // 1 − mask
	}
	if err == nil {
		s, err = nn.MaskedFill(s, hidden, -math.MaxFloat32)
	}
	if err == nil {
		s, err = nn.Softmax(s, -1)
	}
	if err != nil {
		return nil, err
	}
	return nn.Times(s, mask)
}

// splitHeads views x [B, T, H·d_k] as [B, H, T, d_k].
func splitHeads(x *G.Node, heads int) (*G.Node, error) {
	s := x.Shape()
	r, err := nn.Reshape(x, s[0], s[1], heads, s[2]/heads) // [B,T,H,d_k]
	if err != nil {
		return nil, err
	}
	return nn.Permute(r, 0, 2, 1, 3)
}

// joinHeads is splitHeads' inverse: [B, H, T, d_k] → [B, T, H·d_k].
func joinHeads(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	p, err := nn.Permute(x, 0, 2, 1, 3) // [B,T,H,d_k]
	if err != nil {
		return nil, err
	}
	return nn.Reshape(p, s[0], s[2], s[1]*s[3])
}

// PaddingMask turns keep [B, Tk] (1 for a real key, 0 for padding) into a
// mask value for Attend: [B, 1, 1, Tk].
func PaddingMask(keep *G.Node) (*G.Node, error) {
	s := keep.Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("layers: padding mask: keep %v, want [B,T]", s)
	}
	return nn.Reshape(keep, s[0], 1, 1, s[1])
}

// CausalMask returns the mask value [Tq, Tk] that lets query i see keys
// j ≤ i, as PyTorch's is_causal (the lower triangle of ones(Tq, Tk)
// aligned at the top left). It is a constant of g under name.
func CausalMask(g *nn.Graph, name string, tq, tk int) (*G.Node, error) {
	if tq <= 0 || tk <= 0 {
		return nil, fmt.Errorf("layers: causal mask: sizes %d×%d", tq, tk)
	}
	return g.ConstantOf(name, []int{tq, tk}, func() []float64 {
		vals := make([]float64, tq*tk)
		for i := 0; i < tq; i++ {
			for j := 0; j <= i && j < tk; j++ {
				vals[i*tk+j] = 1
			}
		}
		return vals
	})
}
