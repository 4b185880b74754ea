package layers

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/nn"
)

// RotaryBase is θ's base in rotary position embeddings, as in RoFormer.
const RotaryBase = 10000

// Rotary applies rotary position embeddings (Su et al., 2021, RoFormer) to
// the queries or keys x [B, T, D], whose heads lie side by side (head h in
// columns h·d_k…(h+1)·d_k, d_k even). Each head's vector at position t is
// rotated, pair by pair, by the angles t·θᵢ, θᵢ = base^(−2i/d_k), in the
// half-split layout of GPT-NeoX and of Hugging Face's LLaMA: with
// x = [x₁ | x₂] the two halves of a head,
//
//	rotary(x) = x ⊙ cos + [−x₂ | x₁] ⊙ sin,  cos = [cos tθ | cos tθ], sin likewise
//
// so the score q_s·k_t depends on the positions only through s − t. It is
// written in primitives; cos and sin are constants of g under name.
func Rotary(g *nn.Graph, name string, x *G.Node, heads int, base float64) (*G.Node, error) {
	wrap := func(err error) error { return fmt.Errorf("layers: rotary %q: %w", name, err) }
	s := x.Shape()
	if len(s) != 3 || heads <= 0 || s[2]%heads != 0 || (s[2]/heads)%2 != 0 {
		return nil, wrap(fmt.Errorf("input %v does not split into %d heads of even width", s, heads))
	}
	b, t, dk := s[0], s[1], s[2]/heads
	table := func(suffix string, f func(float64) float64) (*G.Node, error) {
		return g.ConstantOf(nn.Join(name, suffix), []int{t, 1, dk}, func() []float64 { // broadcast over heads
			vals := make([]float64, t*dk)
			for pos := 0; pos < t; pos++ {
				for i := 0; i < dk/2; i++ {
					a := float64(pos) * math.Pow(base, -2*float64(i)/float64(dk))
					vals[pos*dk+i], vals[pos*dk+i+dk/2] = f(a), f(a)
				}
			}
			return vals
		})
	}
	cos, err := table("cos", math.Cos)
	if err != nil {
		return nil, wrap(err)
	}
	sin, err := table("sin", math.Sin)
	if err != nil {
		return nil, wrap(err)
	}
	xh, err := nn.Reshape(x, b, t, heads, dk) // [B,T,H,d_k]
	if err != nil {
		return nil, wrap(err)
	}
	x1, err := nn.Slice(xh, 3, 0, dk/2)
	if err != nil {
		return nil, wrap(err)
	}
	x2, err := nn.Slice(xh, 3, dk/2, dk)
	if err == nil {
		x2, err = nn.Neg(x2)
	}
	if err != nil {
		return nil, wrap(err)
	}
	rot, err := nn.Concat(3, x2, x1) // [−x₂ | x₁]
	if err == nil {
		rot, err = nn.Times(rot, sin)
	}
	if err != nil {
		return nil, wrap(err)
	}
	y, err := nn.Times(xh, cos)
	if err == nil {
		y, err = nn.Plus(y, rot)
	}
	if err == nil {
		y, err = nn.Reshape(y, b, t, heads*dk)
	}
	if err != nil {
		return nil, wrap(err)
	}
	return y, nil
}
