package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// IgnoreTarget marks a target that counts neither in the loss nor in accuracy
// (padding, or a position with nothing to predict).
const IgnoreTarget = -1

// CrossEntropy returns the mean over counted rows of −log softmax(logits)[target]:
//
//	L = (1/N) Σ_{i: tᵢ ≠ −1} (logsumexp(zᵢ) − zᵢ[tᵢ])
//
// logits [N, V], targets [N] holding class indices as floats, −1 for rows
// that do not count (as torch.nn.CrossEntropyLoss with ignore_index and mean
// reduction). With no counted row the loss is 0. A target outside [−1, V) is
// an error at run time.
func CrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	ls, ts := logits.Shape(), targets.Shape()
	if len(ls) != 2 || len(ts) != 1 || ts[0] != ls[0] {
		return nil, fmt.Errorf("nn: cross-entropy: logits %v and targets %v do not fit (want [N,V] and [N])", ls, ts)
	}
	op := &customOp{
		name:    "CrossEntropy",
		inDims:  dimsOf(logits, targets),
		outDims: 0,
		shape:   func([]tensor.Shape) (tensor.Shape, error) { return tensor.ScalarShape(), nil },
		k:       kernelOf(crossEntropyFwd[float32], crossEntropyFwd[float64]),
		wrt:     []bool{true, false},
		diff: func(in G.Nodes, _, gl *G.Node) (G.Nodes, error) {
			gz, err := apply(&customOp{
				name:    "CrossEntropyGrad",
				inDims:  dimsOf(in[0], in[1], gl),
				outDims: 2,
				shape:   sameShape,
				k:       kernelOf(crossEntropyGrad[float32], crossEntropyGrad[float64]),
			}, in[0], in[1], gl)
			if err != nil {
				return nil, err
			}
			return G.Nodes{gz, nil}, nil
		},
	}
	return apply(op, logits, targets)
}

// target validates and returns row i's class, or −1.
func target[T Float](t T, v int) (int, error) {
	c := int(t)
	if T(c) != t || c < IgnoreTarget || c >= v {
		return 0, fmt.Errorf("nn: cross-entropy: target %v outside [-1, %d)", t, v)
	}
	return c, nil
}

// logSumExp returns max and log Σ exp(z − max) of one row.
func logSumExp[T Float](z []T) (m, lse float64) {
	m = math.Inf(-1)
	for _, v := range z {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return m, math.Log(s)
}

func crossEntropyFwd[T Float](out []T, in [][]T, sh []tensor.Shape) error {
	z, t := in[0], in[1]
	n, v := sh[0][0], sh[0][1]
	var sum float64
	count := 0
	for i := 0; i < n; i++ {
		c, err := target(t[i], v)
		if err != nil {
			return err
		}
		if c == IgnoreTarget {
			continue
		}
		zr := z[i*v : (i+1)*v]
		m, lse := logSumExp(zr)
		sum += m + lse - float64(zr[c])
		count++
	}
	out[0] = 0
	if count > 0 {
		out[0] = T(sum / float64(count))
	}
	return nil
}

// crossEntropyGrad: gz = gl · (softmax(z) − onehot(t)) / N on counted rows.
func crossEntropyGrad[T Float](gz []T, in [][]T, sh []tensor.Shape) error {
	z, t, gl := in[0], in[1], in[2]
	n, v := sh[0][0], sh[0][1]
	count := 0
	for i := 0; i < n; i++ {
		if int(t[i]) != IgnoreTarget {
			count++
		}
	}
	clear(gz)
	if count == 0 {
		return nil
	}
	g := float64(gl[0]) / float64(count)
	for i := 0; i < n; i++ {
		c, err := target(t[i], v)
		if err != nil {
			return err
		}
		if c == IgnoreTarget {
			continue
		}
		zr, gr := z[i*v:(i+1)*v], gz[i*v:(i+1)*v]
		m, lse := logSumExp(zr)
		for j, x := range zr {
			p := math.Exp(float64(x) - m - lse)
			if j == c {
				p--
			}
			gr[j] = T(g * p)
		}
	}
	return nil
}
