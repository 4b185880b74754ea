//go:build amd64 && !purego

package vecf32

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func expSum8(dst, s, keep *float32, n int, scale, m float32, c *float32, acc *[8]float32)

// expSumAsm does the first len(dst)/8·8 elements of ExpSum eight at a time
// and returns how many it did.
func expSumAsm(dst, s, keep []float32, scale, m float32, acc *[8]float32) int {
	n := len(dst) / 8 * 8
	if !hasAVX2 || n == 0 {
		return 0
	}
	_, _ = s[n-1], keep[n-1]
	expSum8(&dst[0], &s[0], &keep[0], n, scale, m, &expConst[0], acc)
	return n
}

//go:noescape
func addRows8(out, x *float32, n8, rows, strideBytes int)

// addRowsAsm does the first len(out)/8·8 columns of AddRows and returns how
// many it did.
func addRowsAsm(out, x []float32, stride, rows int) int {
	n8 := len(out) / 8 * 8
	if !hasAVX2 || n8 == 0 || rows == 0 {
		return 0
	}
	_ = x[(rows-1)*stride+n8-1]
	addRows8(&out[0], &x[0], n8, rows, stride*4)
	return n8
}

//go:noescape
func sum4F64(x *float32, n4 int, lanes *[4]float64)

//go:noescape
func sqDev4F64(x *float32, n4 int, mean float64, lanes *[4]float64)

//go:noescape
func norm4(y, x, gamma, beta *float32, n4 int, mean, rstd float64)

// sumAsm, sqDevAsm and normAsm do the first len(x)/4·4 elements of
// NormRow's three passes and return how many they did.
func sumAsm(x []float32, lanes *[4]float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	sum4F64(&x[0], n4, lanes)
	return n4
}

func sqDevAsm(x []float32, mean float64, lanes *[4]float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	sqDev4F64(&x[0], n4, mean, lanes)
	return n4
}

func normAsm(y, x, g, b []float32, mean, rstd float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _, _ = y[n4-1], g[n4-1], b[n4-1]
	norm4(&y[0], &x[0], &g[0], &b[0], n4, mean, rstd)
	return n4
}

//go:noescape
func maskedMax8(s, keep *float32, n8 int, scale float32, m *float32)

//go:noescape
func scale8(x *float32, n8 int, c float32)

func maskedMaxAsm(s, keep []float32, scale float32, m *float32) int {
	n8 := len(s) / 8 * 8
	if !hasAVX2 || n8 == 0 {
		return 0
	}
	_ = keep[n8-1]
	maskedMax8(&s[0], &keep[0], n8, scale, m)
	return n8
}

func scaleAsm(x []float32, c float32) int {
	n8 := len(x) / 8 * 8
	if !hasAVX2 || n8 == 0 {
		return 0
	}
	scale8(&x[0], n8, c)
	return n8
}

//go:noescape
func passNonzero8(dst, y, grad *float32, n8 int)

func passNonzeroAsm(dst, y, g []float32) int {
	n8 := len(dst) / 8 * 8
	if !hasAVX2 || n8 == 0 {
		return 0
	}
	passNonzero8(&dst[0], &y[0], &g[0], n8)
	return n8
}

//go:noescape
func normGradSums4(x, gamma, gy *float32, n4 int, mean, rstd float64, lanes *[8]float64)

//go:noescape
func normGrad4(gx, x, gamma, gy *float32, n4 int, mean, rstd, mg, mgx float64)

func normGradSumsAsm(x, g, gy []float32, mean, rstd float64, lanes *[8]float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	normGradSums4(&x[0], &g[0], &gy[0], n4, mean, rstd, lanes)
	return n4
}

func normGradAsm(gx, x, g, gy []float32, mean, rstd, mg, mgx float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	normGrad4(&gx[0], &x[0], &g[0], &gy[0], n4, mean, rstd, mg, mgx)
	return n4
}

//go:noescape
func dot4F64(w, gw *float32, n4 int, lanes *[4]float64)

//go:noescape
func softmaxGrad4(gs, w, gw *float32, n4 int, scale, dot float64)

func dotAsm(w, gw []float32, lanes *[4]float64) int {
	n4 := len(w) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	dot4F64(&w[0], &gw[0], n4, lanes)
	return n4
}

func softmaxGradAsm(gs, w, gw []float32, scale, dot float64) int {
	n4 := len(w) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	softmaxGrad4(&gs[0], &w[0], &gw[0], n4, scale, dot)
	return n4
}
