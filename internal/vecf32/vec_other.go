//go:build !amd64 || purego

package vecf32

func expSumAsm(dst, s, keep []float32, scale, m float32, acc *[8]float32) int { return 0 }

func addRowsAsm(out, x []float32, stride, rows int) int { return 0 }

func sumAsm(x []float32, lanes *[4]float64) int                 { return 0 }
func sqDevAsm(x []float32, mean float64, lanes *[4]float64) int { return 0 }
func normAsm(y, x, g, b []float32, mean, rstd float64) int      { return 0 }

func maskedMaxAsm(s, keep []float32, scale float32, m *float32) int { return 0 }
func scaleAsm(x []float32, c float32) int                           { return 0 }

func passNonzeroAsm(dst, y, g []float32) int { return 0 }

func normGradSumsAsm(x, g, gy []float32, mean, rstd float64, lanes *[8]float64) int { return 0 }
func normGradAsm(gx, x, g, gy []float32, mean, rstd, mg, mgx float64) int           { return 0 }

func dotAsm(w, gw []float32, lanes *[4]float64) int              { return 0 }
func softmaxGradAsm(gs, w, gw []float32, scale, dot float64) int { return 0 }
