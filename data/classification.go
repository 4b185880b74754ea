package data

import (
	"math/rand/v2"
	"slices"
)

// Token IDs of the binary classification tasks: two input symbols and two
// labels, right after the specials.
const (
	sym0   = firstSymbol     // "0" or "("
	sym1   = firstSymbol + 1 // "1" or ")"
	label0 = firstSymbol     // "even" or "balanced"
	label1 = firstSymbol + 1 // "odd" or "unbalanced"
)

// parityTask labels a uniformly random bit string by whether it holds an
// even or odd number of 1s.
type parityTask struct{ base }

func newParity() *parityTask {
	return &parityTask{base{name: "parity", kind: Classification, in: mustVocab("0", "1"), out: mustVocab("even", "odd"), minLen: 1}}
}

func (t *parityTask) Generate(rng *rand.Rand, length int) Example { return generate(t, rng, length) }

func (t *parityTask) fill(rng *rand.Rand, n int, ex *Example) {
	t.check(n)
	ex.Input = resize(ex.Input, n)
	ones := 0
	for i := range ex.Input {
		b := rng.IntN(2)
		ones += b
		ex.Input[i] = sym0 + b
	}
	ex.Target = resize(ex.Target, 1)
	ex.Target[0] = label0 + ones%2
}

// dyckTask labels bracket strings over "(" ")" as balanced (Dyck-1) or not.
// At even lengths half the examples are uniformly random balanced strings;
// the other half are near misses: either equal counts of "(" and ")" whose
// prefix goes negative somewhere (a uniformly random non-Dyck arrangement),
// or a balanced string with one bracket flipped. At odd lengths no string is
// balanced, so every example is a balanced string with one bracket inserted,
// labelled unbalanced; train on even lengths for a 50/50 class balance.
type dyckTask struct{ base }

func newDyck() *dyckTask {
	return &dyckTask{base{name: "dyck", kind: Classification, in: mustVocab("(", ")"), out: mustVocab("balanced", "unbalanced"), minLen: 2}}
}

func (t *dyckTask) Generate(rng *rand.Rand, length int) Example { return generate(t, rng, length) }

func (t *dyckTask) fill(rng *rand.Rand, n int, ex *Example) {
	t.check(n)
	ex.Target = resize(ex.Target, 1)
	ex.Target[0] = label1
	if n%2 == 1 {
		randomDyck(rng, n-1, ex)
		ex.Input = ex.Input[:n]
		p := rng.IntN(n)
		copy(ex.Input[p+1:], ex.Input[p:n-1])
		ex.Input[p] = sym0 + rng.IntN(2)
		return
	}
	switch rng.IntN(4) {
	case 0, 1:
		randomDyck(rng, n, ex)
		ex.Target[0] = label0
	case 2:
		ex.Input = resize(ex.Input, n)
		in := ex.Input
		for i := range in {
			in[i] = sym0 + i%2
		}
		for balanced(in) { // accepted with probability n/2 / (n/2+1) >= 1/2
			rng.Shuffle(n, func(i, j int) { in[i], in[j] = in[j], in[i] })
		}
	default:
		randomDyck(rng, n, ex)
		p := rng.IntN(n)
		ex.Input[p] = sym0 + sym1 - ex.Input[p]
	}
}

// randomDyck writes a uniformly random balanced string of even length n into
// ex.Input (with capacity for n+1) by the cycle lemma: of the 2m+1 rotations
// of a shuffle of m "(" and m+1 ")", exactly one is a balanced string
// followed by ")", the one starting just after the first minimum of the
// prefix sums.
func randomDyck(rng *rand.Rand, n int, ex *Example) {
	m := n / 2
	buf := resize(ex.Input, n+1)
	for i := range buf {
		buf[i] = sym1
		if i < m {
			buf[i] = sym0
		}
	}
	rng.Shuffle(len(buf), func(i, j int) { buf[i], buf[j] = buf[j], buf[i] })
	h, low, start := 0, 0, 0
	for i, id := range buf {
		h += 1 - 2*(id-sym0) // "(" +1, ")" -1
		if h < low {
			low, start = h, i+1
		}
	}
	// Rotate left by start: three reversals.
	slices.Reverse(buf[:start])
	slices.Reverse(buf[start:])
	slices.Reverse(buf)
	ex.Input = buf[:n]
}

// balanced reports whether ids, read as sym0 "(" and sym1 ")", is Dyck-1.
func balanced(ids []int) bool {
	h := 0
	for _, id := range ids {
		if id == sym0 {
			h++
		} else if h--; h < 0 {
			return false
		}
	}
	return h == 0
}
