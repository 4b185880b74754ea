package nn

import (
	"github.com/qkv-dev/qkv/internal/vecf32"
	"github.com/qkv-dev/qkv/internal/vecf64"
)

// rowOps are the vectorised row kernels of one element type, vecf32's or
// vecf64's, through which the softmax, layer norm, ReLU gradient and bias
// gradient kernels serve both types with one body each.
type rowOps[T Float] struct {
	maskedMax   func(s, keep []T, scale T) T
	expSum      func(dst, s, keep []T, scale, m T) T
	scale       func(x []T, c T)
	softmaxGrad func(gs, w, gw []T, scale float64)
	normRow     func(y, x, g, b []T, eps float64) (mean, rstd float64)
	normGradRow func(gx, x, g, gy []T, mean, rstd float64)
	addRows     func(out, x []T, stride int)
	passNonzero func(dst, y, g []T)
}

var (
	rows32 = &rowOps[float32]{
		maskedMax:   vecf32.MaskedMax,
		expSum:      vecf32.ExpSum,
		scale:       vecf32.Scale,
		softmaxGrad: vecf32.SoftmaxGradRow,
		normRow:     vecf32.NormRow,
		normGradRow: vecf32.NormGradRow,
		addRows:     vecf32.AddRows,
		passNonzero: vecf32.PassNonzero,
	}
	rows64 = &rowOps[float64]{
		maskedMax:   vecf64.MaskedMax,
		expSum:      vecf64.ExpSum,
		scale:       vecf64.Scale,
		softmaxGrad: vecf64.SoftmaxGradRow,
		normRow:     vecf64.NormRow,
		normGradRow: vecf64.NormGradRow,
		addRows:     vecf64.AddRows,
		passNonzero: vecf64.PassNonzero,
	}
)
