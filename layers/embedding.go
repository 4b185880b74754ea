package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// Embedding maps token ids to vectors. As in the paper (section 3.4) the
// looked-up rows are multiplied by √d_model when Scale is set, so that
// embeddings and positional encodings have comparable size.
type Embedding struct {
	Table *nn.Param // [V, D], drawn from N(0, Std²)
	Scale bool
}

var _ nn.Module = (*Embedding)(nil)

// EmbeddingConfig sizes an Embedding.
type EmbeddingConfig struct {
	Vocab  int  // rows: token ids 0..Vocab−1
	DModel int  // features of a row
	Scale  bool // multiply looked-up rows by √DModel, as the paper does
	// Std is the standard deviation the table is drawn with; 0 means
	// 1/√DModel, the transformer's (scaled by √DModel, a row then has
	// norm about √DModel, as the positions do). torch.nn.Embedding draws
	// from N(0, 1): Std 1.
	Std   float64
	Dtype tensor.Dtype // tensor.Float32 or tensor.Float64 (nn.ShapesOnly to count parameters)
}

// NewEmbedding makes a table of cfg.Vocab rows of cfg.DModel features named
// name.weight.
func NewEmbedding(name string, cfg EmbeddingConfig, rng *rand.Rand) (*Embedding, error) {
	vocab, d, scale, dt := cfg.Vocab, cfg.DModel, cfg.Scale, cfg.Dtype
	if vocab <= 0 || d <= 0 {
		return nil, fmt.Errorf("layers: embedding %q: sizes must be positive, got vocab=%d d=%d", name, vocab, d)
	}
	if !(cfg.Std >= 0) || math.IsInf(cfg.Std, 1) {
		return nil, fmt.Errorf("layers: embedding %q: std %v must be finite and >= 0", name, cfg.Std)
	}
	std := cfg.Std
	if std == 0 {
		std = 1 / math.Sqrt(float64(d))
	}
	t, err := newParam(nn.Join(name, "weight"), dt, nn.Normal(std), rng, vocab, d)
	if err != nil {
		return nil, err
	}
	return &Embedding{Table: t, Scale: scale}, nil
}

// Params returns the table.
func (e *Embedding) Params() []*nn.Param { return []*nn.Param{e.Table} }

// Forward looks up ids (token indices stored as floats): [B, T] → [B, T, D].
func (e *Embedding) Forward(g *nn.Graph, ids *G.Node) (*G.Node, error) {
	t, err := g.Param(e.Table)
	if err != nil {
		return nil, err
	}
	scale := 1.0
	if e.Scale {
		scale = math.Sqrt(float64(e.Table.Shape()[1]))
	}
	return g.Ops().Embed(t, ids, scale)
}
