package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// ScaledDotProductAttention is the paper's attention (section 3.2.1) for all
// heads at once:
//
//	Attention(Q, K, V) = softmax(QKᵀ/√d_k)·V
//
// q, k and v are [B, T, D], each holding its heads side by side: viewed as
// [B, T, H, Dh] with Dh = D/H = d_k, head h is the column block
// [h·Dh, (h+1)·Dh) of every row.
//
//	q[b, t, :] = [ head 0 | head 1 | … | head H−1 ]
//	               ← Dh →
//
// HeadScores and HeadMix multiply those blocks in place with strided matrix
// products, so neither the split into heads nor their concatenation is a
// reshape or a transpose: the output [B, T, D] holds head h's result in the
// same block h.
//
// keep [B, T] is 1 for a real key and 0 for padding: padded keys get exactly
// zero weight. dropout is the rate applied to the weights in a training
// graph, under name (see Graph.Dropout). weights [B, H, T, T] are returned
// as they were before dropout.
func ScaledDotProductAttention(g *Graph, name string, q, k, v, keep *G.Node, heads int, dropout float64) (out, weights *G.Node, err error) {
	d := q.Shape()[len(q.Shape())-1]
	if heads <= 0 || d%heads != 0 {
		return nil, nil, fmt.Errorf("nn: attention: %d features do not split into %d heads", d, heads)
	}
	dk := d / heads

	scores, err := g.Ops().HeadScores(q, k, heads) // QKᵀ per head: [B,H,T,T]
	if err != nil {
		return nil, nil, err
	}
	weights, err = g.Ops().MaskedSoftmax(scores, keep, 1/math.Sqrt(float64(dk))) // softmax(QKᵀ/√d_k) over real keys: [B,H,T,T]
	if err != nil {
		return nil, nil, err
	}
	dropped, err := g.Dropout(name, weights, dropout) // [B,H,T,T]
	if err != nil {
		return nil, nil, err
	}
	const weightsTimesV = false                           // HeadMix's op(S) is S itself, not Sᵀ
	out, err = g.Ops().HeadMix(dropped, v, weightsTimesV) // weights·V per head, heads side by side: [B,T,D]
	if err != nil {
		return nil, nil, err
	}
	return out, weights, nil
}
