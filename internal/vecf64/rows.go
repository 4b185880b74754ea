package vecf64

// AddRows adds each row of x to out: out[j] += x[r·stride + j] for every
// row r of x (rows start stride elements apart) and j < len(out), rows in
// order, so every column is summed exactly as a plain loop sums it.
func AddRows(out, x []float64, stride int) {
	m := len(out)
	if m == 0 {
		return
	}
	rows := 0
	if len(x) >= m {
		rows = (len(x)-m)/stride + 1
	}
	done := addRowsAsm(out, x, stride, rows)
	for r := 0; r < rows; r++ {
		row := x[r*stride : r*stride+m]
		for j := done; j < m; j++ {
			out[j] += row[j]
		}
	}
}
