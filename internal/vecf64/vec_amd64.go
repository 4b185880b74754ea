//go:build amd64 && !purego

package vecf64

import "golang.org/x/sys/cpu"

var (
	hasAVX2 = cpu.X86.HasAVX2
	// hasAVX512 picks expSum8 for ExpSum where the CPU has AVX-512; a test
	// clears it to check expSum4 on its own as well.
	hasAVX512 = cpu.X86.HasAVX2 && cpu.X86.HasAVX512F
)

// Each xxxAsm does the first n/4·4 elements (or columns) of its kernel,
// four at a time, and returns how many it did: none without AVX2.

//go:noescape
func expSum4(dst, s, keep *float64, n4 int, scale, m float64, c *float64, acc *[4]float64)

//go:noescape
func expSum8(dst, s, keep *float64, n8 int, scale, m float64, c *float64, acc *[4]float64)

// expSumAsm does eight elements at a time with AVX-512 where it can, then
// four at a time. Either adds element j to lane j mod 4 in order, so both
// give the Go loop's bits.
func expSumAsm(dst, s, keep []float64, scale, m float64, acc *[4]float64) int {
	n4 := len(dst) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _ = s[n4-1], keep[n4-1]
	done := 0
	if n8 := n4 / 8 * 8; hasAVX512 && n8 > 0 {
		expSum8(&dst[0], &s[0], &keep[0], n8, scale, m, &expConst[0], acc)
		done = n8
	}
	if done < n4 {
		expSum4(&dst[done], &s[done], &keep[done], n4-done, scale, m, &expConst[0], acc)
	}
	return n4
}

//go:noescape
func addRows4(out, x *float64, n4, rows, strideBytes int)

func addRowsAsm(out, x []float64, stride, rows int) int {
	n4 := len(out) / 4 * 4
	if !hasAVX2 || n4 == 0 || rows == 0 {
		return 0
	}
	_ = x[(rows-1)*stride+n4-1]
	addRows4(&out[0], &x[0], n4, rows, stride*8)
	return n4
}

//go:noescape
func sum4(x *float64, n4 int, lanes *[4]float64)

//go:noescape
func sqDev4(x *float64, n4 int, mean float64, lanes *[4]float64)

//go:noescape
func norm4(y, x, gamma, beta *float64, n4 int, mean, rstd float64)

func sumAsm(x []float64, lanes *[4]float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	sum4(&x[0], n4, lanes)
	return n4
}

func sqDevAsm(x []float64, mean float64, lanes *[4]float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	sqDev4(&x[0], n4, mean, lanes)
	return n4
}

func normAsm(y, x, g, b []float64, mean, rstd float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _, _ = y[n4-1], g[n4-1], b[n4-1]
	norm4(&y[0], &x[0], &g[0], &b[0], n4, mean, rstd)
	return n4
}

//go:noescape
func maskedMax4(s, keep *float64, n4 int, scale float64, m *float64)

//go:noescape
func scale4(x *float64, n4 int, c float64)

func maskedMaxAsm(s, keep []float64, scale float64, m *float64) int {
	n4 := len(s) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_ = keep[n4-1]
	maskedMax4(&s[0], &keep[0], n4, scale, m)
	return n4
}

func scaleAsm(x []float64, c float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	scale4(&x[0], n4, c)
	return n4
}

//go:noescape
func passNonzero4(dst, y, grad *float64, n4 int)

func passNonzeroAsm(dst, y, g []float64) int {
	n4 := len(dst) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _ = y[n4-1], g[n4-1]
	passNonzero4(&dst[0], &y[0], &g[0], n4)
	return n4
}

//go:noescape
func normGradSums4(x, gamma, gy *float64, n4 int, mean, rstd float64, lanes *[8]float64)

//go:noescape
func normGrad4(gx, x, gamma, gy *float64, n4 int, mean, rstd, mg, mgx float64)

func normGradSumsAsm(x, g, gy []float64, mean, rstd float64, lanes *[8]float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _ = g[n4-1], gy[n4-1]
	normGradSums4(&x[0], &g[0], &gy[0], n4, mean, rstd, lanes)
	return n4
}

func normGradAsm(gx, x, g, gy []float64, mean, rstd, mg, mgx float64) int {
	n4 := len(x) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _, _ = gx[n4-1], g[n4-1], gy[n4-1]
	normGrad4(&gx[0], &x[0], &g[0], &gy[0], n4, mean, rstd, mg, mgx)
	return n4
}

//go:noescape
func dot4(w, gw *float64, n4 int, lanes *[4]float64)

//go:noescape
func softmaxGrad4(gs, w, gw *float64, n4 int, scale, dot float64)

func dotAsm(w, gw []float64, lanes *[4]float64) int {
	n4 := len(w) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_ = gw[n4-1]
	dot4(&w[0], &gw[0], n4, lanes)
	return n4
}

func softmaxGradAsm(gs, w, gw []float64, scale, dot float64) int {
	n4 := len(w) / 4 * 4
	if !hasAVX2 || n4 == 0 {
		return 0
	}
	_, _ = gs[n4-1], gw[n4-1]
	softmaxGrad4(&gs[0], &w[0], &gw[0], n4, scale, dot)
	return n4
}
