package nn

import (
	"fmt"
	"reflect"
	"regexp"

	"gorgonia.org/tensor"
)

// Param is one trainable tensor of a model: a unique hierarchical name
// ("encoder.layers.0.attn.q.weight"), a shape and a value. The value lives
// outside any graph; Graph.Param binds it into a graph on demand, so a training
// graph and any number of evaluation graphs share the same weights.
type Param struct {
	name  string
	value *tensor.Dense // nil for a ShapesOnly parameter
	shape tensor.Shape  // a ShapesOnly parameter's shape
}

// ShapesOnly, given as the dtype to NewParam (and so to any layer's
// constructor), makes parameters that have a name and a shape but no value:
// building a model with it lists and counts the parameters the model would
// have without allocating them, so that a size the machine cannot hold is
// refused before it is tried. Initializers leave such a parameter as it is,
// and no graph binds it.
var ShapesOnly = tensor.Dtype{Type: reflect.TypeFor[shapesOnly]()}

type shapesOnly struct{}

var validName = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`)

// NewParam returns a zero-valued parameter of the given dtype and shape.
// The name must be dot-separated words of letters, digits and underscores.
func NewParam(name string, dt tensor.Dtype, shape ...int) (*Param, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("nn: invalid parameter name %q", name)
	}
	if err := checkDtype(dt); err != nil && dt != ShapesOnly {
		return nil, fmt.Errorf("nn: parameter %q: %w", name, err)
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("nn: parameter %q: empty shape", name)
	}
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("nn: parameter %q: non-positive dimension in shape %v", name, shape)
		}
	}
	if dt == ShapesOnly {
		return &Param{name: name, shape: tensor.Shape(shape).Clone()}, nil
	}
	v := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	return &Param{name: name, value: v}, nil
}

// Name returns the parameter's hierarchical name.
func (p *Param) Name() string { return p.name }

// Shape returns the parameter's shape.
func (p *Param) Shape() tensor.Shape {
	if p.value == nil {
		return p.shape
	}
	return p.value.Shape()
}

// Dtype returns the parameter's element type (ShapesOnly for a parameter
// without a value).
func (p *Param) Dtype() tensor.Dtype {
	if p.value == nil {
		return ShapesOnly
	}
	return p.value.Dtype()
}

// Value returns the tensor that holds the parameter's value (nil for a
// ShapesOnly parameter). Graphs bind this very tensor, so writing into it
// (an optimizer step, loading a checkpoint) is seen by every graph the
// parameter is bound into.
func (p *Param) Value() *tensor.Dense { return p.value }

// Size returns the number of elements.
func (p *Param) Size() int { return p.Shape().TotalSize() }

// Float64s returns a copy of the value as float64, whatever the dtype
// (nil for a ShapesOnly parameter).
func (p *Param) Float64s() []float64 {
	if p.value == nil {
		return nil
	}
	return ToFloat64s(p.value)
}

// SetFloat64s overwrites the value from float64s, converting to the dtype.
func (p *Param) SetFloat64s(src []float64) error {
	if p.value == nil {
		return fmt.Errorf("nn: parameter %q has a shape only", p.name)
	}
	if len(src) != p.Size() {
		return fmt.Errorf("nn: parameter %q: got %d values, want %d", p.name, len(src), p.Size())
	}
	FromFloat64s(p.value, src)
	return nil
}

// Module is anything that owns parameters. Params lists them explicitly, in a
// stable order; composites list their children's parameters.
type Module interface {
	Params() []*Param
}

// CheckUnique reports an error if two parameters of m share a name.
func CheckUnique(m Module) error {
	seen := make(map[string]bool)
	for _, p := range m.Params() {
		if seen[p.name] {
			return fmt.Errorf("nn: duplicate parameter name %q", p.name)
		}
		seen[p.name] = true
	}
	return nil
}

// Join joins name components with dots, skipping empty ones.
func Join(parts ...string) string {
	out := ""
	for _, s := range parts {
		if s == "" {
			continue
		}
		if out != "" {
			out += "."
		}
		out += s
	}
	return out
}

func checkDtype(dt tensor.Dtype) error {
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return fmt.Errorf("unsupported dtype %v (want float32 or float64)", dt)
	}
	return nil
}

// ToFloat64s copies a float32 or float64 dense tensor into a new []float64.
func ToFloat64s(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	}
	panic(fmt.Sprintf("nn: unsupported dtype %v", t.Dtype()))
}

// FromFloat64s writes src into a float32 or float64 dense tensor of the same size.
func FromFloat64s(t *tensor.Dense, src []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, x := range src {
			d[i] = float32(x)
		}
	default:
		panic(fmt.Sprintf("nn: unsupported dtype %v", t.Dtype()))
	}
}
