package nn

import (
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// arith is an element-wise operation of two operands.
type arith int

const (
	plus arith = iota
	minus
	times
	divide
)

func (a arith) String() string { return [...]string{"Plus", "Minus", "Times", "Divide"}[a] }

// Plus returns x + y element-wise, broadcasting (see prim.go):
// gx = Σ gy, gy = Σ gy, each summed to its operand's shape.
func Plus(x, y *G.Node) (*G.Node, error) { return arithOp(plus, x, y) }

// Minus returns x − y element-wise, broadcasting: gx = Σ gy, gy = −Σ gy.
func Minus(x, y *G.Node) (*G.Node, error) { return arithOp(minus, x, y) }

// Times returns x ⊙ y element-wise, broadcasting: gx = Σ gy⊙y, gy = Σ gy⊙x.
// (Gorgonia's Mul is the matrix product; this is the Hadamard product.)
func Times(x, y *G.Node) (*G.Node, error) { return arithOp(times, x, y) }

// Divide returns x / y element-wise, broadcasting: with z = x/y,
// gx = Σ gy/y, gy = −Σ gy⊙z/y.
func Divide(x, y *G.Node) (*G.Node, error) { return arithOp(divide, x, y) }

func arithOp(op arith, x, y *G.Node) (*G.Node, error) {
	xs, ys := x.Shape().Clone(), y.Shape().Clone()
	out, err := broadcastShape(xs, ys)
	if err != nil {
		return nil, fmt.Errorf("nn: %v: %w", op, err)
	}
	c := &customOp{
		name:    fmt.Sprintf("%v%v%v", op, xs, ys),
		inDims:  dimsOf(x, y),
		outDims: len(out),
		shape:   fixed(out),
		k:       kernelOf(binaryFwd[float32](op, out), binaryFwd[float64](op, out)),
		wrt:     []bool{true, true},
		diff: func(in G.Nodes, z, gz *G.Node) (G.Nodes, error) {
			var gx, gy *G.Node
			var err error
			switch op {
			case plus:
				gx, gy = gz, gz
			case minus:
				gx = gz
				gy, err = Neg(gz)
			case times:
				if gx, err = Times(gz, in[1]); err == nil {
					gy, err = Times(gz, in[0])
				}
			case divide:
				if gx, err = Divide(gz, in[1]); err == nil {
					var zy *G.Node
					if zy, err = Divide(z, in[1]); err == nil {
						if gy, err = Times(gz, zy); err == nil {
							gy, err = Neg(gy)
						}
					}
				}
			}
			if err != nil {
				return nil, err
			}
			if gx, err = reduceTo(gx, xs); err != nil {
				return nil, err
			}
			if gy, err = reduceTo(gy, ys); err != nil {
				return nil, err
			}
			return G.Nodes{gx, gy}, nil
		},
	}
	return apply(c, x, y)
}

func binaryFwd[T Float](op arith, out tensor.Shape) func([]T, [][]T, []tensor.Shape) error {
	return func(z []T, in [][]T, s []tensor.Shape) error {
		x, y := in[0], in[1]
		f := func(a, b T) T {
			switch op {
			case plus:
				return a + b
			case minus:
				return a - b
			case times:
				return a * b
			}
			return a / b
		}
		if slices.Equal(s[0], s[1]) {
			for i := range z {
				z[i] = f(x[i], y[i])
			}
			return nil
		}
		walk(out, [][]int{bstrides(s[0], out), bstrides(s[1], out)}, func(o int, idx []int) {
			z[o] = f(x[idx[0]], y[idx[1]])
		})
		return nil
	}
}

// unary builds an element-wise primitive y = f(x) whose gradient is
// gx = gy ⊙ d(x, y), computed by one small kernel.
func unary(name string, x *G.Node, f func(float64) float64, d func(x, y float64) float64) (*G.Node, error) {
	op := &customOp{
		name:    name,
		inDims:  dimsOf(x),
		outDims: x.Dims(),
		shape:   sameShape,
		k:       kernelOf(unaryFwd[float32](f), unaryFwd[float64](f)),
		wrt:     []bool{true},
		diff: func(in G.Nodes, y, gy *G.Node) (G.Nodes, error) {
			gx, err := apply(&customOp{
				name:    name + "Grad",
				inDims:  dimsOf(in[0], y, gy),
				outDims: y.Dims(),
				shape:   sameShape,
				k:       kernelOf(unaryGrad[float32](d), unaryGrad[float64](d)),
			}, in[0], y, gy)
			return G.Nodes{gx}, err
		},
	}
	return apply(op, x)
}

func unaryFwd[T Float](f func(float64) float64) func([]T, [][]T, []tensor.Shape) error {
	return func(y []T, in [][]T, _ []tensor.Shape) error {
		for i, v := range in[0][:len(y)] {
			y[i] = T(f(float64(v)))
		}
		return nil
	}
}

func unaryGrad[T Float](d func(x, y float64) float64) func([]T, [][]T, []tensor.Shape) error {
	return func(gx []T, in [][]T, _ []tensor.Shape) error {
		x, y, gy := in[0], in[1], in[2]
		for i := range gx {
			gx[i] = T(float64(gy[i]) * d(float64(x[i]), float64(y[i])))
		}
		return nil
	}
}

// Neg returns −x: gx = −gy.
func Neg(x *G.Node) (*G.Node, error) {
	return unary("Neg", x, func(v float64) float64 { return -v }, func(_, _ float64) float64 { return -1 })
}

// Scale returns c·x: gx = c·gy.
func Scale(x *G.Node, c float64) (*G.Node, error) {
	return unary(fmt.Sprintf("Scale{%g}", c), x, func(v float64) float64 { return c * v }, func(_, _ float64) float64 { return c })
}

// Shift returns x + c: gx = gy.
func Shift(x *G.Node, c float64) (*G.Node, error) {
	return unary(fmt.Sprintf("Shift{%g}", c), x, func(v float64) float64 { return v + c }, func(_, _ float64) float64 { return 1 })
}

// Exp returns eˣ: gx = gy⊙y.
func Exp(x *G.Node) (*G.Node, error) {
	return unary("Exp", x, math.Exp, func(_, y float64) float64 { return y })
}

// Log returns ln x: gx = gy/x.
func Log(x *G.Node) (*G.Node, error) {
	return unary("Log", x, math.Log, func(x, _ float64) float64 { return 1 / x })
}

// Sqrt returns √x: gx = gy/(2y).
func Sqrt(x *G.Node) (*G.Node, error) {
	return unary("Sqrt", x, math.Sqrt, func(_, y float64) float64 { return 0.5 / y })
}

// Rsqrt returns 1/√x: gx = −gy⊙y³/2. (Gorgonia's InverseSqrt has a wrong
// gradient.)
func Rsqrt(x *G.Node) (*G.Node, error) {
	return unary("Rsqrt", x, func(v float64) float64 { return 1 / math.Sqrt(v) }, func(_, y float64) float64 { return -0.5 * y * y * y })
}

// Tanh returns tanh x: gx = gy⊙(1 − y²).
func Tanh(x *G.Node) (*G.Node, error) {
	return unary("Tanh", x, math.Tanh, func(_, y float64) float64 { return 1 - y*y })
}

// Sigmoid returns σ(x) = 1/(1 + e⁻ˣ): gx = gy⊙y(1 − y).
func Sigmoid(x *G.Node) (*G.Node, error) {
	return unary("Sigmoid", x, sigmoid, func(_, y float64) float64 { return y * (1 - y) })
}

// Erf returns the error function erf x: gx = gy⊙(2/√π)·e^(−x²).
func Erf(x *G.Node) (*G.Node, error) {
	return unary("Erf", x, math.Erf, func(x, _ float64) float64 { return 2 / math.Sqrt(math.Pi) * math.Exp(-x*x) })
}

// Step returns the Heaviside step 1[x > 0]: 1 where x is positive, else 0.
// Its derivative is zero wherever it exists, so gx = 0.
func Step(x *G.Node) (*G.Node, error) {
	return unary("Step", x, func(v float64) float64 {
		if v > 0 {
			return 1
		}
		return 0
	}, func(_, _ float64) float64 { return 0 })
}
