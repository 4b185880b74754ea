package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// PositionalEncoding adds position information to a sequence of vectors.
type PositionalEncoding struct {
	Kind   Positional // sinusoidal, learned, rotary (applied in attention instead) or none
	DModel int        // the width of the vectors it adds to
	Table  *nn.Param  // [MaxLen, D] for Learned, nil otherwise
	name   string
}

var _ nn.Module = (*PositionalEncoding)(nil)

// PositionalConfig sizes a PositionalEncoding.
type PositionalConfig struct {
	Kind   Positional // sinusoidal, learned, rotary (applied in attention instead) or none
	DModel int        // the width of the vectors it adds to
	// MaxLen bounds the sequence length of a learned table and is ignored
	// otherwise: sinusoidal encodings extend to any length.
	MaxLen int
	Dtype  tensor.Dtype // tensor.Float32 or tensor.Float64 (nn.ShapesOnly to count parameters)
}

// NewPositionalEncoding makes a positional encoding of cfg.Kind.
func NewPositionalEncoding(name string, cfg PositionalConfig, rng *rand.Rand) (*PositionalEncoding, error) {
	kind, dModel, maxLen, dt := cfg.Kind, cfg.DModel, cfg.MaxLen, cfg.Dtype
	if dModel <= 0 {
		return nil, fmt.Errorf("layers: positional encoding %q: d_model must be positive, got %d", name, dModel)
	}
	pe := &PositionalEncoding{Kind: kind, DModel: dModel, name: name}
	switch kind {
	case Sinusoidal, NoPosition, RotaryPosition:
	case Learned:
		if maxLen <= 0 {
			return nil, fmt.Errorf("layers: positional encoding %q: learned table needs a positive max length, got %d", name, maxLen)
		}
		t, err := newParam(nn.Join(name, "weight"), dt, nn.Normal(0.02), rng, maxLen, dModel)
		if err != nil {
			return nil, err
		}
		pe.Table = t
	default:
		return nil, fmt.Errorf("layers: positional encoding %q: unknown kind %q (want %s, %s, %s or %s)", name, kind, Sinusoidal, Learned, NoPosition, RotaryPosition)
	}
	return pe, nil
}

// Params returns the learned table, if any.
func (p *PositionalEncoding) Params() []*nn.Param {
	if p.Table == nil {
		return nil
	}
	return []*nn.Param{p.Table}
}

// SinusoidalTable returns the paper's encoding for positions 0..n−1 as an
// n×d row-major slice:
//
//	PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
func SinusoidalTable(n, d int) []float64 {
	out := make([]float64, n*d)
	for pos := 0; pos < n; pos++ {
		for i := 0; i < d; i += 2 {
			angle := float64(pos) / math.Pow(10000, float64(i)/float64(d))
			out[pos*d+i] = math.Sin(angle)
			if i+1 < d {
				out[pos*d+i+1] = math.Cos(angle)
			}
		}
	}
	return out
}

// Forward adds the encoding of positions 0..T−1: [B, T, D] → [B, T, D].
func (p *PositionalEncoding) Forward(g *nn.Graph, x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 3 || s[2] != p.DModel {
		return nil, fmt.Errorf("layers: positional encoding %q: input %v, want [B,T,%d]", p.name, s, p.DModel)
	}
	t := s[1]
	switch p.Kind {
	case NoPosition, RotaryPosition: // rotary positions act in attention (AttentionConfig.Rotary)
		return x, nil
	case Sinusoidal:
		c, err := g.ConstantOf(nn.Join(p.name, fmt.Sprintf("sinusoidal%d", t)), []int{t, p.DModel}, func() []float64 { return SinusoidalTable(t, p.DModel) })
		if err != nil {
			return nil, err
		}
		return g.Ops().AddTrailing(x, c)
	}
	maxLen := p.Table.Shape()[0]
	if t > maxLen {
		return nil, fmt.Errorf("layers: positional encoding %q: sequence length %d exceeds the learned table's %d", p.name, t, maxLen)
	}
	tab, err := g.Param(p.Table)
	if err != nil {
		return nil, err
	}
	if t < maxLen {
		if tab, err = G.Slice(tab, G.S(0, t)); err != nil {
			return nil, fmt.Errorf("layers: positional encoding %q: %w", p.name, err)
		}
	}
	return g.Ops().AddTrailing(x, tab)
}
