package vecf64

// PassNonzero sets dst[j] = g[j] where y[j] ≠ 0 (a NaN counts as nonzero)
// and +0 elsewhere: the gradient of a ReLU from its output y.
func PassNonzero(dst, y, g []float64) {
	n := len(dst)
	y, g = y[:n], g[:n]
	done := passNonzeroAsm(dst, y, g)
	for j := done; j < n; j++ {
		if y[j] != 0 {
			dst[j] = g[j]
		} else {
			dst[j] = 0
		}
	}
}
