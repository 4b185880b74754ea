package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LSTM runs one direction of a long short-term memory layer (Hochreiter &
// Schmidhuber, 1997; forget gate of Gers et al., 2000) over a padded batch,
// as one direction of torch.nn.LSTM with batch_first:
//
//	[i, f, g, o] = [σ, σ, tanh, σ](x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)
//	c_t = f ⊙ c_{t−1} + i ⊙ g
//	h_t = o ⊙ tanh(c_t)
//
// x [B, T, I], wih [4H, I], whh [4H, H], bih and bhh [4H], keep [B, T] with 1
// for a real token and 0 for padding → y [B, T, H]. The gate blocks of the
// weights and biases are stacked [i; f; g; o], as PyTorch stores them, and
// h_0 = c_0 = 0. A padded step leaves (h, c) unchanged and outputs zero, so
// for right-padded sequences y equals PyTorch's on packed sequences. With
// reverse the steps run from T−1 down to 0: the reverse direction starts
// from the zero state at each sequence's last real token.
//
// The input projection of every step is one Linear over [B·T, I]; the
// recurrence is one op over the whole sequence (see lstmScan), whose
// backward is backpropagation through time in a kernel of its own.
func LSTM(x, wih, whh, bih, bhh, keep *G.Node, reverse bool) (*G.Node, error) {
	xs, ks := x.Shape(), keep.Shape()
	ws, us := wih.Shape(), whh.Shape()
	if len(us) != 2 || us[0] != 4*us[1] || us[1] == 0 {
		return nil, fmt.Errorf("nn: lstm: recurrent weight %v, want [4H,H]", us)
	}
	h := us[1]
	switch {
	case len(xs) != 3 || len(ks) != 2 || ks[0] != xs[0] || ks[1] != xs[1]:
		return nil, fmt.Errorf("nn: lstm: input %v and mask %v do not fit (want [B,T,I] and [B,T])", xs, ks)
	case len(ws) != 2 || ws[0] != 4*h || ws[1] != xs[2]:
		return nil, fmt.Errorf("nn: lstm: input weight %v, want [%d,%d]", ws, 4*h, xs[2])
	case !bih.Shape().Eq(tensor.Shape{4 * h}) || !bhh.Shape().Eq(tensor.Shape{4 * h}):
		return nil, fmt.Errorf("nn: lstm: biases %v and %v, want [%d]", bih.Shape(), bhh.Shape(), 4*h)
	}
	gx, err := Linear(x, wih, bih) // [B,T,4H]
	if err != nil {
		return nil, err
	}
	z, err := lstmScan(gx, whh, bhh, keep, reverse) // [B,T,6H]
	if err != nil {
		return nil, err
	}
	return lstmHidden(z, keep) // [B,T,H]
}

// The scan's output z [B, T, 6H] records, for each step, what its backward
// needs: the state after the step and the activated gates,
//
//	z[b,t] = [h_t | c_t | i | f | g | o]
//
// On a padded step the state is the one carried through and the gates are
// zero. The step before t is t−1 (t+1 in reverse), so its state is read
// from the record next door, and no other tensor survives the forward pass.
const lstmRecord = 6

// lstmSteps returns the time index of the s-th step taken and of the step
// taken before it, −1 for the first.
func lstmSteps(s, n int, reverse bool) (t, prev int) {
	if !reverse {
		return s, s - 1
	}
	if s == 0 {
		return n - 1, -1
	}
	return n - 1 - s, n - s
}

// lstmScan runs the recurrence over precomputed input projections:
// gx [B, T, 4H] = x·W_ihᵀ + b_ih, whh [4H, H], bhh [4H], keep [B, T] →
// z [B, T, 6H]. It is one op rather than T per-step ops because a step's
// input would be a slice of gx, and the gradient of a slice is as large as
// what it was cut from: T of them would cost O(T²) time and memory.
func lstmScan(gx, whh, bhh, keep *G.Node, reverse bool) (*G.Node, error) {
	op := &customOp{
		name:    fmt.Sprintf("LSTMScan{%v}", reverse),
		inDims:  dimsOf(gx, whh, bhh, keep),
		outDims: 3,
		shape: func(s []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{s[0][0], s[0][1], s[0][2] / 4 * lstmRecord}, nil
		},
		k:   kernelOf(lstmScanFwd[float32](reverse), lstmScanFwd[float64](reverse)),
		wrt: []bool{true, true, true, false},
		diff: func(in G.Nodes, z, gz *G.Node) (G.Nodes, error) {
			// dG is the gradient of the pre-activation gates [B,T,4H]: of gx
			// directly, of b_hh summed, of W_hh as Σₜ dG_tᵀ·h_{t−1}.
			dg, err := apply(&customOp{
				name:    fmt.Sprintf("LSTMScanGrad{%v}", reverse),
				inDims:  dimsOf(z, in[1], in[3], gz),
				outDims: 3,
				shape: func(s []tensor.Shape) (tensor.Shape, error) {
					return tensor.Shape{s[0][0], s[0][1], s[0][2] / lstmRecord * 4}, nil
				},
				k: kernelOf(lstmScanGrad[float32](reverse), lstmScanGrad[float64](reverse)),
			}, z, in[1], in[3], gz)
			if err != nil {
				return nil, err
			}
			gw, err := apply(&customOp{
				name:    fmt.Sprintf("LSTMGradWhh{%v}", reverse),
				inDims:  dimsOf(dg, z),
				outDims: 2,
				shape: func(s []tensor.Shape) (tensor.Shape, error) {
					return tensor.Shape{s[0][2], s[0][2] / 4}, nil
				},
				k: kernelOf(lstmGradWhh[float32](reverse), lstmGradWhh[float64](reverse)),
			}, dg, z)
			if err != nil {
				return nil, err
			}
			gb, err := SumTo(dg, in[2].Shape())
			if err != nil {
				return nil, err
			}
			return G.Nodes{dg, gw, gb, nil}, nil
		},
	}
	return apply(op, gx, whh, bhh, keep)
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func lstmScanFwd[T Float](reverse bool) func([]T, [][]T, []tensor.Shape) error {
	return func(z []T, in [][]T, sh []tensor.Shape) error {
		gx, whh, bhh, keep := in[0], in[1], in[2], in[3]
		b, n, h4 := sh[0][0], sh[0][1], sh[0][2]
		h := h4 / 4
		w := lstmRecord * h
		pre := make([]T, b*h4) // h_{t−1}·W_hhᵀ of every row
		zero := make([]T, 2*h) // the state before the first step
		for s := 0; s < n; s++ {
			t, prev := lstmSteps(s, n, reverse)
			if prev < 0 {
				clear(pre)
			} else { // the rows' previous h lie n records apart in z
				gemm(false, true, b, h4, h, z[prev*w:], n*w, whh, h, pre, h4)
			}
			for r := 0; r < b; r++ {
				state := zero
				if prev >= 0 {
					state = z[(r*n+prev)*w:][:2*h]
				}
				rec := z[(r*n+t)*w:][:w]
				if keep[r*n+t] == 0 {
					copy(rec, state)
					clear(rec[2*h:])
					continue
				}
				lstmCell(rec, pre[r*h4:][:h4], gx[(r*n+t)*h4:][:h4], bhh, state[h:], h)
			}
		}
		return nil
	}
}

// lstmCell takes one step of one row: pre = h_{t−1}·W_hhᵀ, gx = x_t·W_ihᵀ + b_ih,
// cp = c_{t−1}; it writes the record [h_t | c_t | i | f | g | o].
func lstmCell[T Float](rec, pre, gx, bhh, cp []T, h int) {
	for j := 0; j < h; j++ {
		a := func(k int) float64 { return float64(gx[k*h+j]) + float64(pre[k*h+j]) + float64(bhh[k*h+j]) }
		i, f, g, o := sigmoid(a(0)), sigmoid(a(1)), math.Tanh(a(2)), sigmoid(a(3))
		c := f*float64(cp[j]) + i*g
		rec[j] = T(o * math.Tanh(c))
		rec[h+j] = T(c)
		rec[2*h+j], rec[3*h+j], rec[4*h+j], rec[5*h+j] = T(i), T(f), T(g), T(o)
	}
}

// lstmScanGrad is backpropagation through time. Going through the steps
// backwards, with dh and dc the gradients reaching h_t and c_t (from z's own
// gradient and from the step after), a real step gives
//
//	dc   += dh ⊙ o ⊙ (1 − tanh²c_t)
//	dG_i  = dc ⊙ g ⊙ i(1 − i)          dG_f = dc ⊙ c_{t−1} ⊙ f(1 − f)
//	dG_g  = dc ⊙ i ⊙ (1 − g²)          dG_o = dh ⊙ tanh(c_t) ⊙ o(1 − o)
//	dh_{t−1} = dG·W_hh                 dc_{t−1} = dc ⊙ f
//
// where dG = [dG_i, dG_f, dG_g, dG_o] is the gradient of the pre-activation
// gates (a gradient on the recorded gates themselves is added before the
// activation's derivative). A padded step passes dh and dc through and
// has dG = 0. z [B, T, 6H], whh [4H, H], keep [B, T], gz [B, T, 6H] →
// dG [B, T, 4H].
func lstmScanGrad[T Float](reverse bool) func([]T, [][]T, []tensor.Shape) error {
	return func(dg []T, in [][]T, sh []tensor.Shape) error {
		z, whh, keep, gz := in[0], in[1], in[2], in[3]
		b, n, w := sh[0][0], sh[0][1], sh[0][2]
		h := w / lstmRecord
		h4 := 4 * h
		dh := make([]T, b*h) // gradient reaching the state after the step, per row
		dc := make([]T, b*h)
		back := make([]T, b*h) // dG_t·W_hh
		zero := make([]T, h)
		for s := n - 1; s >= 0; s-- {
			t, prev := lstmSteps(s, n, reverse)
			for r := 0; r < b; r++ {
				i := r*n + t
				rec, grec := z[i*w:][:w], gz[i*w:][:w]
				dhr, dcr := dh[r*h:][:h], dc[r*h:][:h]
				for j := 0; j < h; j++ {
					dhr[j] += grec[j]
					dcr[j] += grec[h+j]
				}
				if keep[i] == 0 {
					clear(dg[i*h4:][:h4])
					continue
				}
				cp := zero
				if prev >= 0 {
					cp = z[(r*n+prev)*w+h:][:h]
				}
				lstmCellGrad(dg[i*h4:][:h4], rec, grec, cp, dhr, dcr, h)
			}
			if prev < 0 {
				continue
			}
			gemm(false, false, b, h, h4, dg[t*h4:], n*h4, whh, h, back, h)
			for r := 0; r < b; r++ {
				if keep[r*n+t] != 0 {
					copy(dh[r*h:][:h], back[r*h:][:h])
				}
			}
		}
		return nil
	}
}

// lstmCellGrad writes dG for one real step of one row and replaces dc by
// dc_{t−1}; see lstmScanGrad.
func lstmCellGrad[T Float](dg, rec, grec, cp, dh, dc []T, h int) {
	for j := 0; j < h; j++ {
		c := float64(rec[h+j])
		i, f, g, o := float64(rec[2*h+j]), float64(rec[3*h+j]), float64(rec[4*h+j]), float64(rec[5*h+j])
		tc := math.Tanh(c)
		dhj := float64(dh[j])
		dcj := float64(dc[j]) + dhj*o*(1-tc*tc)
		di := dcj*g + float64(grec[2*h+j])
		df := dcj*float64(cp[j]) + float64(grec[3*h+j])
		dgg := dcj*i + float64(grec[4*h+j])
		do := dhj*tc + float64(grec[5*h+j])
		dg[j] = T(di * i * (1 - i))
		dg[h+j] = T(df * f * (1 - f))
		dg[2*h+j] = T(dgg * (1 - g*g))
		dg[3*h+j] = T(do * o * (1 - o))
		dc[j] = T(dcj * f)
	}
}

// lstmGradWhh returns gW_hh = Σ_{b,t} dG[b,t]ᵀ·h_{t−1}[b] as one product
// dGᵀ·Hprev over all B·T rows: dG [B, T, 4H], z [B, T, 6H] → [4H, H].
// Padded steps have dG = 0 and add nothing.
func lstmGradWhh[T Float](reverse bool) func([]T, [][]T, []tensor.Shape) error {
	return func(gw []T, in [][]T, sh []tensor.Shape) error {
		dg, z := in[0], in[1]
		b, n, h4 := sh[0][0], sh[0][1], sh[0][2]
		h := h4 / 4
		w := lstmRecord * h
		hprev := make([]T, b*n*h) // [B·T, H], zero before the first step
		for r := 0; r < b; r++ {
			for s := 1; s < n; s++ {
				t, prev := lstmSteps(s, n, reverse)
				copy(hprev[(r*n+t)*h:][:h], z[(r*n+prev)*w:][:h])
			}
		}
		gemm(true, false, h4, h, b*n, dg, h4, hprev, h, gw, h)
		return nil
	}
}

// lstmHidden reads the outputs out of the scan's records: z [B, T, 6H],
// keep [B, T] → y [B, T, H], y[b,t] = h_t on a real step and 0 on a padded one.
func lstmHidden(z, keep *G.Node) (*G.Node, error) {
	zs := z.Shape().Clone()
	op := &customOp{
		name:    "LSTMHidden",
		inDims:  dimsOf(z, keep),
		outDims: 3,
		shape: func(s []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{s[0][0], s[0][1], s[0][2] / lstmRecord}, nil
		},
		k:   kernelOf(lstmHiddenFwd[float32], lstmHiddenFwd[float64]),
		wrt: []bool{true, false},
		diff: func(in G.Nodes, _, gy *G.Node) (G.Nodes, error) {
			gz, err := apply(&customOp{
				name:    fmt.Sprintf("LSTMHiddenGrad%v", zs),
				inDims:  dimsOf(gy, in[1]),
				outDims: 3,
				shape:   func([]tensor.Shape) (tensor.Shape, error) { return zs.Clone(), nil },
				k:       kernelOf(lstmHiddenGrad[float32], lstmHiddenGrad[float64]),
			}, gy, in[1])
			return G.Nodes{gz, nil}, err
		},
	}
	return apply(op, z, keep)
}

func lstmHiddenFwd[T Float](y []T, in [][]T, _ []tensor.Shape) error {
	z, keep := in[0], in[1]
	h := len(y) / len(keep)
	for i, k := range keep {
		if k == 0 {
			clear(y[i*h:][:h])
			continue
		}
		copy(y[i*h:][:h], z[i*lstmRecord*h:][:h])
	}
	return nil
}

// lstmHiddenGrad scatters gy into the h part of each real step's record.
func lstmHiddenGrad[T Float](gz []T, in [][]T, _ []tensor.Shape) error {
	gy, keep := in[0], in[1]
	h := len(gy) / len(keep)
	clear(gz)
	for i, k := range keep {
		if k != 0 {
			copy(gz[i*lstmRecord*h:][:h], gy[i*h:][:h])
		}
	}
	return nil
}
