package optim

import (
	"fmt"
	"maps"
	"slices"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
)

// State is a copy of an Adam optimizer's state: the number of steps taken
// and the moment estimates m and v by parameter name, each with its
// parameter's dtype and shape. Saving it with the weights and restoring both
// makes the following steps bit-identical to those of an uninterrupted run.
type State struct {
	Step int64                    // steps taken, for the bias corrections
	M, V map[string]*tensor.Dense // first and second moments, by parameter name
}

// State returns a deep copy of the optimizer's state; later steps do not
// change it.
func (a *Adam) State() State {
	s := State{Step: a.t, M: make(map[string]*tensor.Dense, len(a.m)), V: make(map[string]*tensor.Dense, len(a.v))}
	for name, m := range a.m {
		s.M[name] = clone(m)
		s.V[name] = clone(a.v[name])
	}
	return s
}

// SetState replaces the optimizer's state with a deep copy of s, after
// checking it against the parameters it will update: M and V must hold
// exactly the parameters' names, each with the parameter's dtype and shape,
// and V no negative or NaN element. The state of a fresh optimizer (step 0,
// no moments) is accepted for any parameters. On error the optimizer is
// unchanged.
func (a *Adam) SetState(s State, params []*nn.Param) error {
	if s.Step < 0 {
		return fmt.Errorf("optim: state step %d is negative", s.Step)
	}
	if _, err := uniqueNames(params); err != nil {
		return err
	}
	if s.Step == 0 && len(s.M) == 0 && len(s.V) == 0 {
		a.t, a.names = 0, nil
		a.m, a.v = make(map[string]*tensor.Dense), make(map[string]*tensor.Dense)
		return nil
	}
	if s.Step == 0 {
		return fmt.Errorf("optim: state at step 0 has moments")
	}
	known := make(map[string]bool, len(params))
	for _, p := range params {
		known[p.Name()] = true
	}
	for _, which := range []struct {
		name string
		ts   map[string]*tensor.Dense
	}{{"m", s.M}, {"v", s.V}} {
		for _, name := range slices.Sorted(maps.Keys(which.ts)) {
			if !known[name] {
				return fmt.Errorf("optim: state %s has unknown parameter %q", which.name, name)
			}
		}
	}
	m := make(map[string]*tensor.Dense, len(params))
	v := make(map[string]*tensor.Dense, len(params))
	for _, p := range params {
		var err error
		if m[p.Name()], err = stateTensor(p, "m", s.M); err != nil {
			return err
		}
		if v[p.Name()], err = stateTensor(p, "v", s.V); err != nil {
			return err
		}
		if i := firstNegativeOrNaN(v[p.Name()]); i >= 0 {
			return fmt.Errorf("optim: state v of parameter %q: element %d is negative or NaN", p.Name(), i)
		}
	}
	a.t, a.m, a.v, a.names = s.Step, m, v, nil
	return nil
}

// stateTensor checks one moment of p and returns a copy of it.
func stateTensor(p *nn.Param, which string, ts map[string]*tensor.Dense) (*tensor.Dense, error) {
	t, ok := ts[p.Name()]
	switch {
	case !ok:
		return nil, fmt.Errorf("optim: state %s has no parameter %q", which, p.Name())
	case t == nil:
		return nil, fmt.Errorf("optim: state %s of parameter %q is nil", which, p.Name())
	case t.Dtype() != p.Dtype():
		return nil, fmt.Errorf("optim: state %s of parameter %q: dtype %v, want %v", which, p.Name(), t.Dtype(), p.Dtype())
	case !sameShape(t.Shape(), p.Shape()):
		return nil, fmt.Errorf("optim: state %s of parameter %q: shape %v, want %v", which, p.Name(), t.Shape(), p.Shape())
	case !dense(t, p.Size()):
		return nil, fmt.Errorf("optim: state %s of parameter %q is not a contiguous tensor", which, p.Name())
	}
	return clone(t), nil
}

// clone copies a contiguous float32 or float64 tensor.
func clone(t *tensor.Dense) *tensor.Dense {
	c := tensor.New(tensor.Of(t.Dtype()), tensor.WithShape(t.Shape().Clone()...))
	if t.Dtype() == tensor.Float64 {
		copy(c.Float64s(), t.Float64s())
	} else {
		copy(c.Float32s(), t.Float32s())
	}
	return c
}

func firstNegativeOrNaN(t *tensor.Dense) int {
	for i, x := range nn.ToFloat64s(t) {
		if !(x >= 0) {
			return i
		}
	}
	return -1
}
