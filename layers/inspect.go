package layers

import (
	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/nn"
)

// QK returns the queries and keys the attention computes from x [B,T,D]:
// Q = X·W_Qᵀ + b_Q and K = X·W_Kᵀ + b_K, rotated by position when the
// attention is Rotary, each [B,T,D] with head i in columns
// i·d_k…(i+1)·d_k: the two operands of the scores QKᵀ/√d_k, before any
// mask. It adds nodes beside Forward's for inspection; a training graph
// never calls it.
func (a *MultiHeadAttention) QK(g *nn.Graph, x *G.Node) (q, k *G.Node, err error) {
	if q, err = a.Q.Forward(g, x); err != nil { // [B,T,D]
		return nil, nil, err
	}
	if k, err = a.K.Forward(g, x); err != nil { // [B,T,D]
		return nil, nil, err
	}
	if a.cfg.Rotary {
		if q, err = Rotary(g, nn.Join(a.name, "inspect_rotary_q"), q, a.cfg.Heads, RotaryBase); err != nil {
			return nil, nil, err
		}
		if k, err = Rotary(g, nn.Join(a.name, "inspect_rotary_k"), k, a.cfg.Heads, RotaryBase); err != nil {
			return nil, nil, err
		}
	}
	return q, k, nil
}

// QK returns the queries and keys the layer's attention computes when
// Forward is given x [B,T,D]: from x itself after post-norm, from LN₁(x)
// with pre-norm.
func (l *EncoderLayer) QK(g *nn.Graph, x *G.Node) (q, k *G.Node, err error) {
	in := x
	if l.cfg.Norm == PreNorm {
		if in, err = l.Norm1.Forward(g, x); err != nil {
			return nil, nil, err
		}
	}
	return l.Attn.QK(g, in)
}
