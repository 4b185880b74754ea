package data

import "fmt"

// Batch is B examples padded to T positions, in fixed shapes so that one
// compiled graph serves every step. Row b's tokens are
// Inputs[b*T : b*T+Lengths[b]]; the rest of the row is PadID. Targets has
// B*T entries for Tagging (Ignore at padding) and B for Classification.
// A filler row, for when fewer than B examples remain, has length 0, only
// PadID and Ignore.
type Batch struct {
	Kind    Kind  // Tagging or Classification: the shape of Targets
	B, T    int   // rows (examples) and positions (the padded length)
	Inputs  []int // [B,T]
	Targets []int // [B,T] or [B]
	Lengths []int // [B]

	scratch Example // reused by FillFrom
}

// NewBatch allocates an empty batch (all filler rows) of the given shape.
func NewBatch(kind Kind, B, T int) (*Batch, error) {
	if kind != Tagging && kind != Classification {
		return nil, fmt.Errorf("data: batch: invalid kind %d", int(kind))
	}
	if B < 1 || T < 1 {
		return nil, fmt.Errorf("data: batch: shape [%d,%d] not positive", B, T)
	}
	nt := B
	if kind == Tagging {
		nt = B * T
	}
	b := &Batch{Kind: kind, B: B, T: T, Inputs: make([]int, B*T), Targets: make([]int, nt), Lengths: make([]int, B)}
	for i := range B {
		b.clearRow(i)
	}
	return b, nil
}

// MakeBatch returns a new batch holding exs and filler rows after them.
func MakeBatch(kind Kind, exs []Example, B, T int) (*Batch, error) {
	b, err := NewBatch(kind, B, T)
	if err != nil {
		return nil, err
	}
	if err := b.Fill(exs); err != nil {
		return nil, err
	}
	return b, nil
}

// Fill overwrites b with exs, padding each, and filler rows after them.
// More than B examples, or an empty, too long (> T) or mis-targeted
// example, is an error, after which b's contents are unspecified.
func (b *Batch) Fill(exs []Example) error {
	if len(exs) > b.B {
		return fmt.Errorf("data: batch: %d examples for %d rows", len(exs), b.B)
	}
	for i, ex := range exs {
		if err := b.setRow(i, ex); err != nil {
			return err
		}
	}
	for i := len(exs); i < b.B; i++ {
		b.clearRow(i)
	}
	return nil
}

// FillFrom overwrites every row of b with the next B examples of src. It
// does not allocate once warm when src is one of this package's sources.
func (b *Batch) FillFrom(src Source) error {
	into, reuse := src.(interface{ NextInto(*Example) })
	for i := range b.B {
		if reuse {
			into.NextInto(&b.scratch)
		} else {
			b.scratch = src.Next()
		}
		if err := b.setRow(i, b.scratch); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batch) setRow(i int, ex Example) error {
	n := len(ex.Input)
	switch {
	case n == 0:
		return fmt.Errorf("data: batch row %d: empty example", i)
	case n > b.T:
		return fmt.Errorf("data: batch row %d: example has %d tokens, batch holds T=%d", i, n, b.T)
	case b.Kind == Tagging && len(ex.Target) != n:
		return fmt.Errorf("data: batch row %d: %d targets for %d tagging inputs", i, len(ex.Target), n)
	case b.Kind == Classification && len(ex.Target) != 1:
		return fmt.Errorf("data: batch row %d: %d targets, want 1 (classification)", i, len(ex.Target))
	}
	row := b.Inputs[i*b.T : (i+1)*b.T]
	copy(row, ex.Input)
	clear(row[n:]) // PadID is 0
	if b.Kind == Tagging {
		trow := b.Targets[i*b.T : (i+1)*b.T]
		copy(trow, ex.Target)
		for j := n; j < b.T; j++ {
			trow[j] = Ignore
		}
	} else {
		b.Targets[i] = ex.Target[0]
	}
	b.Lengths[i] = n
	return nil
}

func (b *Batch) clearRow(i int) {
	clear(b.Inputs[i*b.T : (i+1)*b.T])
	if b.Kind == Tagging {
		for j := i * b.T; j < (i+1)*b.T; j++ {
			b.Targets[j] = Ignore
		}
	} else {
		b.Targets[i] = Ignore
	}
	b.Lengths[i] = 0
}

// Tokens returns the number of real (non-padding) input tokens.
func (b *Batch) Tokens() int {
	n := 0
	for _, l := range b.Lengths {
		n += l
	}
	return n
}

// Counted returns the number of targets that are not Ignore: the
// denominator of the loss and of accuracy.
func (b *Batch) Counted() int {
	n := 0
	for _, t := range b.Targets {
		if t != Ignore {
			n++
		}
	}
	return n
}

// KeyMask returns a new [B,T] mask: 1 at real tokens, 0 at padding.
func (b *Batch) KeyMask() []float64 {
	m := make([]float64, b.B*b.T)
	_ = b.FillKeyMask(m) // sized right
	return m
}

// FillKeyMask writes the [B,T] key mask of KeyMask into dst.
func (b *Batch) FillKeyMask(dst []float64) error {
	if err := b.checkLen("key mask", dst, b.B*b.T); err != nil {
		return err
	}
	for i := range b.B {
		row := dst[i*b.T : (i+1)*b.T]
		for j := range row {
			row[j] = 0
			if j < b.Lengths[i] {
				row[j] = 1
			}
		}
	}
	return nil
}

// FillInputs writes the [B,T] input IDs into dst as float64.
func (b *Batch) FillInputs(dst []float64) error {
	return b.fill("inputs", dst, b.Inputs, func(id int) float64 { return float64(id) })
}

// FillTargets writes the targets ([B,T] or [B]) into dst as float64, with
// Ignore as -1.
func (b *Batch) FillTargets(dst []float64) error {
	return b.fill("targets", dst, b.Targets, func(t int) float64 { return float64(t) })
}

// FillTargetMask writes 1 where a target counts and 0 where it is Ignore,
// shaped like Targets.
func (b *Batch) FillTargetMask(dst []float64) error {
	return b.fill("target mask", dst, b.Targets, func(t int) float64 {
		if t == Ignore {
			return 0
		}
		return 1
	})
}

// fill writes f of each of src into dst, which must be as long.
func (b *Batch) fill(what string, dst []float64, src []int, f func(int) float64) error {
	if err := b.checkLen(what, dst, len(src)); err != nil {
		return err
	}
	for i, x := range src {
		dst[i] = f(x)
	}
	return nil
}

// FillOneHot writes the targets one-hot over classes into dst
// ([B,T,classes] or [B,classes]); an Ignore target's row is all zeros.
func (b *Batch) FillOneHot(dst []float64, classes int) error {
	if err := b.checkLen("one-hot targets", dst, len(b.Targets)*classes); err != nil {
		return err
	}
	clear(dst)
	for i, t := range b.Targets {
		if t == Ignore {
			continue
		}
		if t < 0 || t >= classes {
			return fmt.Errorf("data: batch: target %d out of range [0,%d)", t, classes)
		}
		dst[i*classes+t] = 1
	}
	return nil
}

func (b *Batch) checkLen(what string, dst []float64, want int) error {
	if len(dst) != want {
		return fmt.Errorf("data: batch: %s buffer has %d entries, want %d", what, len(dst), want)
	}
	return nil
}
