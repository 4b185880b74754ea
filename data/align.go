package data

// Aligner is implemented by tagging tasks whose every counted target is a
// copy of one input token: SourceOf returns the input position the target
// at position i of ex comes from, or −1 when none does (an Ignore target,
// or i outside the example). It is the ground truth an attention head can
// be scored against: a head that solves the task by looking things up
// should put its weight on SourceOf(ex, i) when queried from i.
type Aligner interface {
	SourceOf(ex Example, i int) int
}

// AlignerOf returns t's alignment rule, and false when t has none: copy
// (i), reverse (n−1−i), recall (at the query, the value following the
// matching key), lag (i−k), and any task that implements Aligner itself.
// Sort, histogram and the running and sequence parities have no single
// source position per target.
func AlignerOf(t Task) (Aligner, bool) {
	switch t := t.(type) {
	case Aligner:
		return t, true
	case *seqTask:
		switch t.op {
		case opCopy:
			return copyAligner{}, true
		case opReverse:
			return reverseAligner{}, true
		}
	}
	return nil, false
}

// copyAligner: target i is input i.
type copyAligner struct{}

func (copyAligner) SourceOf(ex Example, i int) int {
	if i < 0 || i >= len(ex.Input) {
		return -1
	}
	return i
}

// reverseAligner: target i is input n−1−i, n the example's length.
type reverseAligner struct{}

func (reverseAligner) SourceOf(ex Example, i int) int {
	n := len(ex.Input)
	if i < 0 || i >= n {
		return -1
	}
	return n - 1 - i
}

// SourceOf returns, for the query (the last position), the position of the
// value that follows the key equal to the query; −1 elsewhere, and −1 if
// no key matches (not an example this task made). Keys sit at even
// positions 0, 2, … as long as they are key tokens; filler or the query
// ends them.
func (t *recallTask) SourceOf(ex Example, i int) int {
	n := len(ex.Input)
	if n < t.minLen || i != n-1 {
		return -1
	}
	q := ex.Input[n-1]
	for p := 0; p+1 < n-1; p += 2 {
		if k := ex.Input[p]; k < firstSymbol || k >= firstSymbol+t.symbols {
			break // filler: no more pairs
		}
		if ex.Input[p] == q {
			return p + 1
		}
	}
	return -1
}
