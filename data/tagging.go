package data

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

type seqOp int

const (
	opCopy seqOp = iota
	opReverse
	opSort
	opHistogram
)

// seqTask is a tagging task over uniformly random symbols (with
// repetition) whose target is a function of the whole input.
type seqTask struct {
	base
	op      seqOp
	symbols int
}

func newSeqTask(name string, op seqOp, symbols int) *seqTask {
	in := symbolVocab(symbols)
	out := in
	if op == opHistogram {
		counts := make([]string, HistogramMaxCount)
		for i := range counts {
			counts[i] = strconv.Itoa(i + 1)
		}
		out = mustVocab(counts...)
	}
	return &seqTask{base: base{name: name, kind: Tagging, in: in, out: out, minLen: 1}, op: op, symbols: symbols}
}

// MaxLength returns HistogramMaxCount for histogram: a longer sequence may
// hold a token more often than the out vocabulary spells, and such counts
// are clipped to HistogramMaxCount.
func (t *seqTask) MaxLength() int {
	if t.op == opHistogram {
		return HistogramMaxCount
	}
	return 0
}

func (t *seqTask) Generate(rng *rand.Rand, length int) Example { return generate(t, rng, length) }

func (t *seqTask) fill(rng *rand.Rand, n int, ex *Example) {
	t.check(n)
	ex.Input = resize(ex.Input, n)
	ex.Target = resize(ex.Target, n)
	in, tgt := ex.Input, ex.Target
	for i := range in {
		in[i] = firstSymbol + rng.IntN(t.symbols)
	}
	switch t.op {
	case opCopy:
		copy(tgt, in)
	case opReverse:
		for i, id := range in {
			tgt[n-1-i] = id
		}
	case opSort:
		copy(tgt, in)
		slices.Sort(tgt)
	case opHistogram:
		// Quadratic, but n <= HistogramMaxCount in sanctioned use and it
		// needs no scratch space.
		for i, id := range in {
			c := 0
			for _, other := range in {
				if other == id {
					c++
				}
			}
			tgt[i] = firstSymbol - 1 + min(c, HistogramMaxCount) // "c" sits at ID c+1
		}
	}
}

// recallTask is associative recall:
//
//	k1 v1 k2 v2 … kn vn . . . q   →   target at q: the value paired with key q
//
// Keys (a, b, …) and values (0, 1, …) come from separate ranges of symbols
// tokens each; the n keys are distinct, values may repeat, and
// n = min((length-1)/2, symbols). Filler "." tokens pad the gap between the
// last pair and the query, so any length >= 3 works and, once length exceeds
// 2·symbols+1, the pairs sit far from the query. Only the last position has a
// target; all others are Ignore.
type recallTask struct {
	base
	symbols int
}

func newRecall(symbols int) *recallTask {
	keys := make([]string, symbols)
	vals := make([]string, symbols)
	for i := range symbols {
		keys[i] = letters(i)
		vals[i] = strconv.Itoa(i)
	}
	in := mustVocab(append(append(keys, vals...), ".")...)
	return &recallTask{base: base{name: "recall", kind: Tagging, in: in, out: mustVocab(vals...), minLen: 3}, symbols: symbols}
}

func (t *recallTask) Generate(rng *rand.Rand, length int) Example { return generate(t, rng, length) }

func (t *recallTask) fill(rng *rand.Rand, length int, ex *Example) {
	t.check(length)
	s := t.symbols
	n := min((length-1)/2, s)
	ex.Input = resize(ex.Input, length)
	in := ex.Input
	// Distinct keys by a partial Fisher–Yates shuffle, using the target's
	// array as scratch space so that a reused Example does not allocate.
	perm := resize(ex.Target, max(length, s))
	for i := range s {
		perm[i] = i
	}
	for i := range n {
		j := i + rng.IntN(s-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	for i := range n {
		in[2*i] = firstSymbol + perm[i]           // key
		in[2*i+1] = firstSymbol + s + rng.IntN(s) // value
	}
	for p := 2 * n; p < length-1; p++ {
		in[p] = firstSymbol + 2*s // filler "."
	}
	q := rng.IntN(n)
	in[length-1] = in[2*q]
	ex.Target = perm[:length]
	for i := range ex.Target {
		ex.Target[i] = Ignore
	}
	ex.Target[length-1] = in[2*q+1] - s // value token in the out vocabulary
}
