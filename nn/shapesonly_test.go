package nn

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestShapesOnly: a ShapesOnly parameter of a size no machine holds costs
// nothing, reports its shape and size, is left alone by initializers, and
// is refused by a graph.
func TestShapesOnly(t *testing.T) {
	p, err := NewParam("huge.weight", ShapesOnly, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != 1<<40 || !p.Shape().Eq(tensor.Shape{1 << 20, 1 << 20}) || p.Value() != nil || p.Dtype() != ShapesOnly || p.Float64s() != nil {
		t.Errorf("shape %v, size %d, value %v, dtype %v", p.Shape(), p.Size(), p.Value(), p.Dtype())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, init := range []Initializer{Zeros, Ones, Normal(1), Uniform(1), XavierUniform} {
		if err := init(p, rng); err != nil {
			t.Errorf("initializer: %v", err)
		}
	}
	if err := p.SetFloat64s([]float64{1}); err == nil {
		t.Error("SetFloat64s of a ShapesOnly parameter: nil error")
	}
	if _, err := NewParam("bad", ShapesOnly, 0); err == nil {
		t.Error("ShapesOnly parameter of a zero dimension: nil error")
	}
	g, err := NewGraph(tensor.Float64, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Param(p); err == nil {
		t.Error("a graph bound a ShapesOnly parameter")
	}
}
