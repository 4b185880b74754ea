package optim

import (
	"math"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// float is nn.Float, the element types of a parameter, under the short name
// the kernels here use.
type float = nn.Float

// ClipGradNorm returns the global L2 norm of all gradients together,
// ‖g‖ = √(Σᵢ Σⱼ gᵢⱼ²), and when maxNorm > 0 and the norm is finite scales
// every gradient in place by
//
//	c = maxNorm / (‖g‖ + 1e-6)
//
// if c < 1, as torch.nn.utils.clip_grad_norm_ does (the 1e-6 is PyTorch's).
// With maxNorm ≤ 0 it only measures. A NaN or infinite norm is returned
// without touching the gradients: the caller decides to stop, and scaling by
// it would only spread the NaN. Nil gradients are skipped; the norm is
// accumulated in float64 whatever the dtype. It panics on a dtype other than
// float32 or float64.
func ClipGradNorm(grads []*tensor.Dense, maxNorm float64) (norm float64) {
	var sumSq float64
	for _, g := range grads {
		if g == nil {
			continue
		}
		switch g.Dtype() {
		case tensor.Float64:
			sumSq += sumSquares(g.Float64s())
		case tensor.Float32:
			sumSq += sumSquares(g.Float32s())
		default:
			panic("optim: ClipGradNorm: unsupported gradient dtype " + g.Dtype().String())
		}
	}
	norm = math.Sqrt(sumSq)
	if !(maxNorm > 0) || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef >= 1 {
		return norm
	}
	for _, g := range grads {
		if g == nil {
			continue
		}
		if g.Dtype() == tensor.Float64 {
			scale(g.Float64s(), coef)
		} else {
			scale(g.Float32s(), float32(coef))
		}
	}
	return norm
}

// sumSquares rounds each square before adding it (no fused multiply-add) so
// that the norm is the same on every architecture.
func sumSquares[T float](x []T) float64 {
	var s float64
	for _, v := range x {
		f := float64(v)
		s += float64(f * f)
	}
	return s
}

func scale[T float](x []T, c T) {
	for i := range x {
		x[i] *= c
	}
}
