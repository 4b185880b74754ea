package layers

import "fmt"

// Activation is the nonlinearity of a FeedForward.
type Activation string

// Activations of the feed-forward network.
const (
	ReLU Activation = "relu"
	GELU Activation = "gelu"
)

// Positional is a kind of positional encoding.
type Positional string

// Kinds of positional encoding.
const (
	Sinusoidal     Positional = "sinusoidal" // fixed, the paper's section 3.5
	Learned        Positional = "learned"    // a trained table of MaxLen rows
	NoPosition     Positional = "none"       // no position information at all
	RotaryPosition Positional = "rotary"     // nothing added; queries and keys rotated (Rotary)
)

// Mask says which keys a query of self-attention may see.
type Mask string

// Masks of self-attention.
const (
	PaddingMaskOnly Mask = "padding" // every real key (also the zero value)
	CausalMaskKind  Mask = "causal"  // real keys at or before the query's position
)

// String returns the mask's name.
func (m Mask) String() string {
	if m == "" {
		return string(PaddingMaskOnly)
	}
	return string(m)
}

// MarshalText returns the name.
func (m Mask) MarshalText() ([]byte, error) { return []byte(m), nil }

// UnmarshalText takes the name as it is; see Check.
func (m *Mask) UnmarshalText(b []byte) error { *m = Mask(b); return nil }

// Check reports an unknown mask.
func (m Mask) Check() error {
	if m != "" && m != PaddingMaskOnly && m != CausalMaskKind {
		return fmt.Errorf("unknown mask %q (want %s or %s)", string(m), PaddingMaskOnly, CausalMaskKind)
	}
	return nil
}

// NormPlacement says where an encoder layer normalises: after each
// residual sum (the paper) or before each sublayer.
type NormPlacement string

// Placements of an encoder layer's norms.
const (
	PostNorm NormPlacement = "post" // x = LayerNorm(x + Sublayer(x)), the paper
	PreNorm  NormPlacement = "pre"  // x = x + Sublayer(LayerNorm(x))
)

// The choices are text, as written in a config file and on the command
// line. Reading one never fails: an unknown value is reported by Check,
// which a config's Validate calls with the other checks.

// String returns the activation's name.
func (a Activation) String() string { return string(a) }

// MarshalText returns the name.
func (a Activation) MarshalText() ([]byte, error) { return []byte(a), nil }

// UnmarshalText takes the name as it is; see Check.
func (a *Activation) UnmarshalText(b []byte) error { *a = Activation(b); return nil }

// String returns the kind's name.
func (p Positional) String() string { return string(p) }

// MarshalText returns the name.
func (p Positional) MarshalText() ([]byte, error) { return []byte(p), nil }

// UnmarshalText takes the name as it is; see Check.
func (p *Positional) UnmarshalText(b []byte) error { *p = Positional(b); return nil }

// String returns the placement's name.
func (n NormPlacement) String() string { return string(n) }

// MarshalText returns the name.
func (n NormPlacement) MarshalText() ([]byte, error) { return []byte(n), nil }

// UnmarshalText takes the name as it is; see Check.
func (n *NormPlacement) UnmarshalText(b []byte) error { *n = NormPlacement(b); return nil }

// Check reports an unknown activation.
func (a Activation) Check() error {
	if a != ReLU && a != GELU {
		return fmt.Errorf("unknown activation %q (want %s or %s)", string(a), ReLU, GELU)
	}
	return nil
}

// Check reports an unknown kind of positional encoding.
func (p Positional) Check() error {
	if p != Sinusoidal && p != Learned && p != NoPosition && p != RotaryPosition {
		return fmt.Errorf("unknown kind %q (want %s, %s, %s or %s)", string(p), Sinusoidal, Learned, NoPosition, RotaryPosition)
	}
	return nil
}

// Check reports an unknown norm placement.
func (n NormPlacement) Check() error {
	if n != PostNorm && n != PreNorm {
		return fmt.Errorf("unknown norm %q (want %s or %s)", string(n), PostNorm, PreNorm)
	}
	return nil
}
