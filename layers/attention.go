package layers

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// AttentionConfig sizes a MultiHeadAttention.
type AttentionConfig struct {
	DModel  int          // d_model, the width of the input and output
	Heads   int          // h; d_k = d_v = DModel / Heads
	Dropout float64      // dropout on the attention weights while training
	Dtype   tensor.Dtype // tensor.Float32 or tensor.Float64
	Mask    Mask         // padding (the zero value) or causal (and padding)
	Rotary  bool         // rotate queries and keys by position (Rotary) before the scores
}

// Validate reports a configuration that cannot be built.
func (c AttentionConfig) Validate() error {
	switch {
	case c.DModel <= 0 || c.Heads <= 0:
		return fmt.Errorf("d_model and heads must be positive, got %d and %d", c.DModel, c.Heads)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("d_model %d is not divisible by heads %d", c.DModel, c.Heads)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("dropout %g outside [0, 1)", c.Dropout)
	case c.Mask.Check() != nil:
		return c.Mask.Check()
	case c.Rotary && (c.DModel/c.Heads)%2 != 0:
		return fmt.Errorf("rotary positions need an even d_k, got %d", c.DModel/c.Heads)
	}
	return nil
}

// MultiHeadAttention is the paper's multi-head self-attention (section 3.2):
//
//	MultiHead(X) = Concat(head₁, …, head_h)·W_Oᵀ,  headᵢ = Attention(X·W_Qᵢᵀ, X·W_Kᵢᵀ, X·W_Vᵢᵀ)
//	Attention(Q, K, V) = softmax(QKᵀ/√d_k)·V
//
// with three separate projections Q, K and V (each with a bias) and an
// output projection.
type MultiHeadAttention struct {
	Q, K, V, Out *Linear // the query, key, value and output projections, [D,D] each
	cfg          AttentionConfig
	name         string
}

var _ nn.Module = (*MultiHeadAttention)(nil)

// NewMultiHeadAttention makes the four projections name.q, name.k, name.v
// and name.out.
func NewMultiHeadAttention(name string, cfg AttentionConfig, rng *rand.Rand) (*MultiHeadAttention, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers: attention %q: %w", name, err)
	}
	a := &MultiHeadAttention{cfg: cfg, name: name}
	for _, p := range []struct {
		dst  **Linear
		name string
	}{{&a.Q, "q"}, {&a.K, "k"}, {&a.V, "v"}, {&a.Out, "out"}} {
		l, err := NewLinear(nn.Join(name, p.name), LinearConfig{In: cfg.DModel, Out: cfg.DModel, Dtype: cfg.Dtype}, rng)
		if err != nil {
			return nil, err
		}
		*p.dst = l
	}
	return a, nil
}

// Params returns the parameters of Q, K, V and the output projection.
func (a *MultiHeadAttention) Params() []*nn.Param { return collect(a.Q, a.K, a.V, a.Out) }

// Config returns the configuration the layer was made with.
func (a *MultiHeadAttention) Config() AttentionConfig { return a.cfg }

// Forward attends from every position to every unmasked position of x.
// x [B, T, D] and keep [B, T] (1 for a real token, 0 for padding) give the
// output [B, T, D] and the attention weights [B, H, T, T], taken before
// dropout; weights on padded keys are exactly zero.
func (a *MultiHeadAttention) Forward(g *nn.Graph, x, keep *G.Node) (out, weights *G.Node, err error) {
	if s := x.Shape(); len(s) != 3 || s[2] != a.cfg.DModel {
		return nil, nil, fmt.Errorf("layers: attention %q: input %v, want [B,T,%d]", a.name, s, a.cfg.DModel)
	}
	// 1. Project: Q = X·W_Qᵀ + b_Q, and so K and V; each [B,T,D] holds the
	// H heads side by side, head i in columns i·d_k…(i+1)·d_k.
	var qkv [3]*G.Node
	for i, proj := range []*Linear{a.Q, a.K, a.V} {
		if qkv[i], err = proj.Forward(g, x); err != nil { // [B,T,D]
			return nil, nil, err
		}
	}
	// 2. Attend in every head: softmax(QKᵀ/√d_k)·V, the heads concatenated.
	// A causal mask or rotary positions take the path written in
	// primitives (Attend); padding alone the fused one.
	if a.cfg.Mask == CausalMaskKind || a.cfg.Rotary {
		ctx, weights, err := a.attendComposed(g, qkv, keep)
		if err != nil {
			return nil, nil, err
		}
		out, err = a.Out.Forward(g, ctx) // [B,T,D]
		return out, weights, err
	}
	ctx, weights, err := nn.ScaledDotProductAttention(g, nn.Join(a.name, "weights"), qkv[0], qkv[1], qkv[2], keep, a.cfg.Heads, a.cfg.Dropout) // [B,T,D], [B,H,T,T]
	if err != nil {
		return nil, nil, fmt.Errorf("layers: attention %q: %w", a.name, err)
	}
	// 3. Project the concatenation: ctx·W_Oᵀ + b_O.
	out, err = a.Out.Forward(g, ctx) // [B,T,D]
	if err != nil {
		return nil, nil, err
	}
	return out, weights, nil
}

// attendComposed rotates the queries and keys if asked, builds the mask
// value (padding, and causal if asked) and calls Attend: qkv [B,T,D] each,
// keep [B,T] → [B,T,D] and the weights [B,H,T,T].
func (a *MultiHeadAttention) attendComposed(g *nn.Graph, qkv [3]*G.Node, keep *G.Node) (ctx, weights *G.Node, err error) {
	wrap := func(err error) error { return fmt.Errorf("layers: attention %q: %w", a.name, err) }
	if a.cfg.Rotary {
		for i, what := range []string{"q", "k"} {
			if qkv[i], err = Rotary(g, nn.Join(a.name, "rotary_"+what), qkv[i], a.cfg.Heads, RotaryBase); err != nil {
				return nil, nil, wrap(err)
			}
		}
	}
	mask, err := PaddingMask(keep) // [B,1,1,T]
	if err != nil {
		return nil, nil, wrap(err)
	}
	if a.cfg.Mask == CausalMaskKind {
		t := keep.Shape()[1]
		causal, err := CausalMask(g, nn.Join(a.name, "causal"), t, t) // [T,T]
		if err == nil {
			mask, err = nn.Times(mask, causal) // [B,1,T,T]
		}
		if err != nil {
			return nil, nil, wrap(err)
		}
	}
	return Attend(g, nn.Join(a.name, "weights"), qkv[0], qkv[1], qkv[2], mask, a.cfg.Heads, a.cfg.Dropout)
}
