package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// LagDefault is the dependency distance of the task NewTask calls "lag".
// It is small so that the default task fits every length range the other
// tasks accept (a lag task needs length > k); a study sweeps k with
// NewLag or the names "lag1", "lag2", ….
const LagDefault = 3

// lagTask is a tagging task over uniformly random symbols whose target at
// position i is the input at position i−k: a fixed-distance dependency,
// the simplest probe of how far back a model can carry a token. The first
// k positions have nothing to copy and are Ignore, so they neither count
// towards accuracy nor reward a constant guess.
type lagTask struct {
	base
	k, symbols int
}

// NewLag returns the lag task with dependency distance k >= 1 over symbols
// content symbols: target[i] = input[i−k] for i >= k, Ignore for i < k.
// Its MinLength is k+1, so every example counts at least one target. Its
// name is "lag" for k = LagDefault and "lag<k>" otherwise, and NewTask
// accepts both, so a config naming the task rebuilds the same k.
func NewLag(k, symbols int) (Task, error) {
	name := "lag"
	if k != LagDefault {
		name += strconv.Itoa(k)
	}
	if k < 1 {
		return nil, fmt.Errorf("data: task %q: distance %d below 1", name, k)
	}
	if symbols < 2 || symbols > MaxSymbols {
		return nil, fmt.Errorf("data: task %q: symbols %d out of range [2, %d]", name, symbols, MaxSymbols)
	}
	in := symbolVocab(symbols)
	return &lagTask{base: base{name: name, kind: Tagging, in: in, out: in, minLen: k + 1}, k: k, symbols: symbols}, nil
}

// Lag returns the task's dependency distance k.
func (t *lagTask) Lag() int { return t.k }

func (t *lagTask) Generate(rng *rand.Rand, length int) Example { return generate(t, rng, length) }

func (t *lagTask) fill(rng *rand.Rand, n int, ex *Example) {
	t.check(n)
	ex.Input = resize(ex.Input, n)
	ex.Target = resize(ex.Target, n)
	for i := range ex.Input {
		ex.Input[i] = firstSymbol + rng.IntN(t.symbols)
	}
	for i := range ex.Target {
		ex.Target[i] = Ignore
		if i >= t.k {
			ex.Target[i] = ex.Input[i-t.k]
		}
	}
}

// SourceOf returns i−k, or −1 for i < k or outside the example.
func (t *lagTask) SourceOf(ex Example, i int) int {
	if i < t.k || i >= len(ex.Input) {
		return -1
	}
	return i - t.k
}

// LagDistance returns the distance k of a lag task's name: LagDefault for
// "lag", k for "lag<k>"; ok is false for any other name. It lets a
// caller choose settings by k (a lag task needs length > k) without
// building the task.
func LagDistance(name string) (k int, ok bool) {
	if name == "lag" {
		return LagDefault, true
	}
	return parseLag(name)
}

// parseLag reports the distance k of a name "lag<k>" with k >= 1 spelled
// without sign or leading zeros, and whether name has that form.
func parseLag(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "lag")
	if !ok || digits == "" || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	k, err := strconv.Atoi(digits)
	return k, err == nil && strconv.Itoa(k) == digits
}

// runParityTask tags each position of a uniformly random bit string with
// the parity of the 1s up to and including it: a running parity, which a
// recurrent network computes with one bit of state but self-attention
// must recompute from every prefix at once (Hahn, 2020; Bhattamishra et
// al., 2020). Its labels are "even" and "odd", as parity's.
type runParityTask struct{ base }

func newRunParity() *runParityTask {
	return &runParityTask{base{name: "runparity", kind: Tagging, in: mustVocab("0", "1"), out: mustVocab("even", "odd"), minLen: 1}}
}

func (t *runParityTask) Generate(rng *rand.Rand, length int) Example { return generate(t, rng, length) }

func (t *runParityTask) fill(rng *rand.Rand, n int, ex *Example) {
	t.check(n)
	ex.Input = resize(ex.Input, n)
	ex.Target = resize(ex.Target, n)
	ones := 0
	for i := range ex.Input {
		b := rng.IntN(2)
		ones += b
		ex.Input[i] = sym0 + b
		ex.Target[i] = label0 + ones%2
	}
}
