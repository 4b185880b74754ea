//go:build !amd64 || purego

package vecf64

func expSumAsm(dst, s, keep []float64, scale, m float64, acc *[4]float64) int { return 0 }

func addRowsAsm(out, x []float64, stride, rows int) int { return 0 }

func sumAsm(x []float64, lanes *[4]float64) int                 { return 0 }
func sqDevAsm(x []float64, mean float64, lanes *[4]float64) int { return 0 }
func normAsm(y, x, g, b []float64, mean, rstd float64) int      { return 0 }

func maskedMaxAsm(s, keep []float64, scale float64, m *float64) int { return 0 }
func scaleAsm(x []float64, c float64) int                           { return 0 }

func passNonzeroAsm(dst, y, g []float64) int { return 0 }

func normGradSumsAsm(x, g, gy []float64, mean, rstd float64, lanes *[8]float64) int { return 0 }
func normGradAsm(gx, x, g, gy []float64, mean, rstd, mg, mgx float64) int           { return 0 }

func dotAsm(w, gw []float64, lanes *[4]float64) int              { return 0 }
func softmaxGradAsm(gs, w, gw []float64, scale, dot float64) int { return 0 }

// hasAVX512 is false: there is no assembly to choose (the tests set it).
var hasAVX512 bool
