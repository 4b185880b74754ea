package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// Ops is the set of operations the layers and models call where a fused op
// exists: by default the fused fast paths, and in a graph set to composed
// (Graph.SetComposed) their composed twins, built from primitives with no
// backward code of their own. TestTwins proves each pair equal in values
// and gradients; a model trained either way takes the same steps.
type Ops struct{ composed bool }

// SetComposed makes the graph's Ops return composed twins instead of fused
// ops. Call it before building; the default is fused.
func (g *Graph) SetComposed(on bool) { g.composed = on }

// Ops returns the operations layers building into g should call.
func (g *Graph) Ops() Ops { return Ops{composed: g.composed} }

// Composed reports whether o gives the composed twins.
func (o Ops) Composed() bool { return o.composed }

// Linear is nn.Linear, or Plus(MatMul(x, w, ·, ᵀ), b).
func (o Ops) Linear(x, w, b *G.Node) (*G.Node, error) {
	if o.composed {
		return linearTwin(x, w, b)
	}
	return Linear(x, w, b)
}

// LinearReLU is nn.LinearReLU, or ReLU's twin over Linear's twin.
func (o Ops) LinearReLU(x, w, b *G.Node) (*G.Node, error) {
	if o.composed {
		z, err := linearTwin(x, w, b)
		if err != nil {
			return nil, err
		}
		return reluTwin(z)
	}
	return LinearReLU(x, w, b)
}

// Add is nn.Add, or Plus.
func (o Ops) Add(x, y *G.Node) (*G.Node, error) {
	if o.composed {
		return Plus(x, y)
	}
	return Add(x, y)
}

// AddTrailing is nn.AddTrailing, or Plus broadcasting b.
func (o Ops) AddTrailing(x, b *G.Node) (*G.Node, error) {
	if o.composed {
		return Plus(x, b)
	}
	return AddTrailing(x, b)
}

// ReLU is nn.ReLU, or x ⊙ Step(x).
func (o Ops) ReLU(x *G.Node) (*G.Node, error) {
	if o.composed {
		return reluTwin(x)
	}
	return ReLU(x)
}

// GELU is nn.GELU, or x ⊙ ½(1 + erf(x/√2)).
func (o Ops) GELU(x *G.Node) (*G.Node, error) {
	if o.composed {
		return geluTwin(x)
	}
	return GELU(x)
}

// Embed is nn.Embed, or scale · Gather(table, ids).
func (o Ops) Embed(table, ids *G.Node, scale float64) (*G.Node, error) {
	if o.composed {
		e, err := Gather(table, ids)
		if err != nil {
			return nil, err
		}
		return Scale(e, scale)
	}
	return Embed(table, ids, scale)
}

// MaskedMean is nn.MaskedMean, or Σₜ keep⊙x / max(Σₜ keep, 1).
func (o Ops) MaskedMean(x, keep *G.Node) (*G.Node, error) {
	if o.composed {
		return maskedMeanTwin(x, keep)
	}
	return MaskedMean(x, keep)
}

// HeadScores is nn.HeadScores, or MatMul over heads split by Reshape and
// Permute.
func (o Ops) HeadScores(a, b *G.Node, heads int) (*G.Node, error) {
	if o.composed {
		return headScoresTwin(a, b, heads)
	}
	return HeadScores(a, b, heads)
}

// HeadMix is nn.HeadMix, or MatMul over split heads, joined back.
func (o Ops) HeadMix(s, x *G.Node, trans bool) (*G.Node, error) {
	if o.composed {
		return headMixTwin(s, x, trans)
	}
	return HeadMix(s, x, trans)
}

// MaskedSoftmax is nn.MaskedSoftmax, or Softmax over scale·s with masked
// keys filled with the lowest float32, times keep.
func (o Ops) MaskedSoftmax(s, keep *G.Node, scale float64) (*G.Node, error) {
	if o.composed {
		return maskedSoftmaxTwin(s, keep, scale)
	}
	return MaskedSoftmax(s, keep, scale)
}

// LayerNorm is nn.LayerNorm, or its formula in primitives.
func (o Ops) LayerNorm(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	if o.composed {
		return layerNormTwin(x, gamma, beta, eps)
	}
	return LayerNorm(x, gamma, beta, eps)
}

// CrossEntropy is nn.CrossEntropy, or −Σ OneHot(t)⊙LogSoftmax(z) over the
// counted rows.
func (o Ops) CrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	if o.composed {
		return crossEntropyTwin(logits, targets)
	}
	return CrossEntropy(logits, targets)
}

// LSTM is nn.LSTM, or the same recurrence step by step in primitives (the
// twins of LSTMScan and LSTMHidden).
func (o Ops) LSTM(x, wih, whh, bih, bhh, keep *G.Node, reverse bool) (*G.Node, error) {
	if o.composed {
		gx, err := linearTwin(x, wih, bih)
		if err != nil {
			return nil, err
		}
		z, err := lstmScanTwin(gx, whh, bhh, keep, reverse)
		if err != nil {
			return nil, err
		}
		return lstmHiddenTwin(z, keep)
	}
	return LSTM(x, wih, whh, bih, bhh, keep, reverse)
}

// The twins. Each computes what its fused op computes, from primitives.

func linearTwin(x, w, b *G.Node) (*G.Node, error) {
	xw, err := MatMul(x, w, false, true) // [..., O]
	if err != nil {
		return nil, err
	}
	return Plus(xw, b)
}

func reluTwin(x *G.Node) (*G.Node, error) {
	s, err := Step(x)
	if err != nil {
		return nil, err
	}
	return Times(x, s)
}

func geluTwin(x *G.Node) (*G.Node, error) {
	e, err := Scale(x, 1/math.Sqrt2)
	if err == nil {
		e, err = Erf(e)
	}
	if err == nil {
		e, err = Shift(e, 1)
	}
	if err == nil {
		e, err = Scale(e, 0.5) // Φ(x)
	}
	if err != nil {
		return nil, err
	}
	return Times(x, e)
}

// nonzeroDenominator returns n + 1[n ≤ 0]: n itself where positive, 1 where
// nothing counted, so that 0/n gives 0 there.
func nonzeroDenominator(n *G.Node) (*G.Node, error) {
	s, err := Step(n)
	if err == nil {
		s, err = Neg(s)
	}
	if err == nil {
		s, err = Shift(s, 1)
	}
	if err != nil {
		return nil, err
	}
	return Plus(n, s)
}

func maskedMeanTwin(x, keep *G.Node) (*G.Node, error) {
	xs := x.Shape()
	if len(xs) != 3 {
		return nil, fmt.Errorf("nn: masked mean: x %v, want [B,T,D]", xs)
	}
	k3, err := Reshape(keep, xs[0], xs[1], 1) // [B,T,1]
	if err != nil {
		return nil, err
	}
	kx, err := Times(x, k3) // [B,T,D]
	if err != nil {
		return nil, err
	}
	sum, err := Sum(kx, false, 1) // [B,D]
	if err != nil {
		return nil, err
	}
	n, err := Sum(keep, true, 1) // [B,1]
	if err != nil {
		return nil, err
	}
	if n, err = nonzeroDenominator(n); err != nil {
		return nil, err
	}
	return Divide(sum, n)
}

// splitHeads views x [B, T, H·Dk] as [B, H, T, Dk].
func splitHeads(x *G.Node, heads int) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 3 || heads <= 0 || s[2]%heads != 0 {
		return nil, fmt.Errorf("nn: heads: %v does not split into %d heads", s, heads)
	}
	r, err := Reshape(x, s[0], s[1], heads, s[2]/heads) // [B,T,H,Dk]
	if err != nil {
		return nil, err
	}
	return Permute(r, 0, 2, 1, 3) // [B,H,T,Dk]
}

// joinHeads is splitHeads' inverse: [B, H, T, Dk] → [B, T, H·Dk].
func joinHeads(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	p, err := Permute(x, 0, 2, 1, 3) // [B,T,H,Dk]
	if err != nil {
		return nil, err
	}
	return Reshape(p, s[0], s[2], s[1]*s[3])
}

func headScoresTwin(a, b *G.Node, heads int) (*G.Node, error) {
	ah, err := splitHeads(a, heads)
	if err != nil {
		return nil, err
	}
	bh, err := splitHeads(b, heads)
	if err != nil {
		return nil, err
	}
	return MatMul(ah, bh, false, true) // [B,H,Ta,Tb]
}

func headMixTwin(s, x *G.Node, trans bool) (*G.Node, error) {
	xh, err := splitHeads(x, s.Shape()[1])
	if err != nil {
		return nil, err
	}
	m, err := MatMul(s, xh, trans, false) // [B,H,T,Dk]
	if err != nil {
		return nil, err
	}
	return joinHeads(m)
}

// maskFill is what a masked score becomes before the softmax: finite in
// float32, so that a row with every key masked gives a uniform softmax
// (zeroed by keep) rather than NaN, and low enough that exp underflows to
// exactly zero beside any real score.
const maskFill = -math.MaxFloat32

func maskedSoftmaxTwin(s, keep *G.Node, scale float64) (*G.Node, error) {
	ss, ks := s.Shape(), keep.Shape()
	if len(ss) < 2 || len(ks) != 2 || ks[0] != ss[0] || ks[1] != ss[len(ss)-1] {
		return nil, fmt.Errorf("nn: masked softmax: scores %v and mask %v do not fit", ss, ks)
	}
	shape := make([]int, len(ss))
	for i := range shape {
		shape[i] = 1
	}
	shape[0], shape[len(shape)-1] = ks[0], ks[1]
	k, err := Reshape(keep, shape...) // [B,1,…,1,Tk]
	if err != nil {
		return nil, err
	}
	return maskedSoftmaxBroadcast(s, k, scale)
}

// maskedSoftmaxBroadcast is softmax(scale·s) over the last axis with keys
// where keep (broadcast to s) is zero given no weight, and rows with no key
// kept all zeros.
func maskedSoftmaxBroadcast(s, keep *G.Node, scale float64) (*G.Node, error) {
	drop, err := Neg(keep)
	if err == nil {
		drop, err = Shift(drop, 1) // 1 − keep
	}
	if err != nil {
		return nil, err
	}
	z, err := Scale(s, scale)
	if err == nil {
		z, err = MaskedFill(z, drop, maskFill)
	}
	if err == nil {
		z, err = Softmax(z, -1)
	}
	if err != nil {
		return nil, err
	}
	return Times(z, keep)
}

func layerNormTwin(x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	mean, err := Mean(x, true, -1) // [...,1]
	if err != nil {
		return nil, err
	}
	xc, err := Minus(x, mean)
	if err != nil {
		return nil, err
	}
	sq, err := Times(xc, xc)
	if err != nil {
		return nil, err
	}
	v, err := Mean(sq, true, -1) // biased variance [...,1]
	if err == nil {
		v, err = Shift(v, eps)
	}
	if err == nil {
		v, err = Rsqrt(v)
	}
	if err != nil {
		return nil, err
	}
	y, err := Times(xc, v)
	if err == nil {
		y, err = Times(y, gamma)
	}
	if err != nil {
		return nil, err
	}
	return Plus(y, beta)
}

func crossEntropyTwin(logits, targets *G.Node) (*G.Node, error) {
	ls := logits.Shape()
	if len(ls) != 2 {
		return nil, fmt.Errorf("nn: cross-entropy: logits %v, want [N,V]", ls)
	}
	lsm, err := LogSoftmax(logits, 1) // [N,V]
	if err != nil {
		return nil, err
	}
	oh, err := OneHot(targets, ls[1]) // [N,V], zero rows where ignored
	if err != nil {
		return nil, err
	}
	picked, err := Times(lsm, oh)
	if err == nil {
		picked, err = Sum(picked, false, 0, 1) // scalar
	}
	if err != nil {
		return nil, err
	}
	n, err := Sum(oh, false, 0, 1) // counted rows, scalar
	if err == nil {
		n, err = nonzeroDenominator(n)
	}
	if err != nil {
		return nil, err
	}
	l, err := Divide(picked, n)
	if err != nil {
		return nil, err
	}
	return Neg(l)
}

// step returns x[:, t] of x [B, T, W] as [B, W].
func step(x *G.Node, t int) (*G.Node, error) {
	s := x.Shape()
	xt, err := Slice(x, 1, t, t+1)
	if err != nil {
		return nil, err
	}
	return Reshape(xt, s[0], s[2])
}

// lstmScanTwin is lstmScan step by step: gx [B, T, 4H], whh [4H, H], bhh
// [4H], keep [B, T] → z [B, T, 6H], the records [h | c | i | f | g | o].
// A padded step carries (h, c) and records zero gates.
func lstmScanTwin(gx, whh, bhh, keep *G.Node, reverse bool) (*G.Node, error) {
	s := gx.Shape()
	b, n, h := s[0], s[1], whh.Shape()[1]
	keep3, err := Reshape(keep, b, n, 1)
	if err != nil {
		return nil, err
	}
	recs := make([]*G.Node, n)
	var hp, cp *G.Node // the state before the step; nil is zero
	for si := 0; si < n; si++ {
		t, _ := lstmSteps(si, n, reverse)
		pre, err := step(gx, t) // [B,4H]
		if err != nil {
			return nil, err
		}
		if pre, err = Plus(pre, bhh); err != nil {
			return nil, err
		}
		if hp != nil {
			hw, err := MatMul(hp, whh, false, true) // [B,4H]
			if err != nil {
				return nil, err
			}
			if pre, err = Plus(pre, hw); err != nil {
				return nil, err
			}
		}
		var gates [4]*G.Node
		for k, act := range []func(*G.Node) (*G.Node, error){Sigmoid, Sigmoid, Tanh, Sigmoid} {
			a, err := Slice(pre, 1, k*h, (k+1)*h)
			if err != nil {
				return nil, err
			}
			if gates[k], err = act(a); err != nil {
				return nil, err
			}
		}
		i, f, g, o := gates[0], gates[1], gates[2], gates[3]
		c, err := Times(i, g)
		if err != nil {
			return nil, err
		}
		if cp != nil {
			fc, err := Times(f, cp)
			if err != nil {
				return nil, err
			}
			if c, err = Plus(fc, c); err != nil {
				return nil, err
			}
		}
		tc, err := Tanh(c)
		if err != nil {
			return nil, err
		}
		hn, err := Times(o, tc)
		if err != nil {
			return nil, err
		}
		kt, err := step(keep3, t) // [B,1]
		if err != nil {
			return nil, err
		}
		carry := func(next, prev *G.Node) (*G.Node, error) {
			if prev == nil {
				return Times(next, kt)
			}
			return Where(kt, next, prev)
		}
		if hp, err = carry(hn, hp); err != nil {
			return nil, err
		}
		if cp, err = carry(c, cp); err != nil {
			return nil, err
		}
		parts := []*G.Node{hp, cp}
		for _, gate := range gates {
			kg, err := Times(gate, kt)
			if err != nil {
				return nil, err
			}
			parts = append(parts, kg)
		}
		rec, err := Concat(1, parts...) // [B,6H]
		if err != nil {
			return nil, err
		}
		if recs[t], err = Reshape(rec, b, 1, lstmRecord*h); err != nil {
			return nil, err
		}
	}
	return Concat(1, recs...) // [B,T,6H]
}

// lstmHiddenTwin reads h out of the records, zero on padded steps.
func lstmHiddenTwin(z, keep *G.Node) (*G.Node, error) {
	s := z.Shape()
	hs, err := Slice(z, 2, 0, s[2]/lstmRecord) // [B,T,H]
	if err != nil {
		return nil, err
	}
	k, err := Reshape(keep, s[0], s[1], 1)
	if err != nil {
		return nil, err
	}
	return Times(hs, k)
}
