package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/qkv-dev/qkv/data"
)

// EvalMemory is the memory, in bytes, that one evaluation graph may take:
// evaluation splits its examples into batches whose graph fits it.
const EvalMemory int64 = 512 << 20

// ErrGraphTooLarge is wrapped when a graph of even one example of the
// length asked for would not fit its memory budget.
var ErrGraphTooLarge = errors.New("graph too large for the memory budget")

// gcHeadroom multiplies the live size of a graph's tensors: every run
// allocates fresh output tensors and leaves the last run's to the collector,
// which (GOGC=100) lets the heap reach twice the live size before it runs.
const gcHeadroom = 2

// GraphBytes estimates the peak memory of running a graph of mc for
// batches of shape [b, t], a training graph if training: every tensor the
// forward pass materialises (Gorgonia's tape machine keeps each node's
// value for the whole run), for training also the gradients and backward
// intermediates, the dropout masks and the parameters' gradients, for
// evaluation also the logits read back and their float64 copy; times the
// dtype's size and a factor of 2 for the collector's headroom. The
// [B,H,T,T] attention scores and weights dominate at any length worth
// asking about. Parameters themselves live outside the graph and are not
// counted.
func GraphBytes(mc ModelConfig, b, t int, training bool) int64 {
	fixed, per := graphCost(mc, paramCount(mc), t, training, false)
	return fixed + int64(b)*per
}

// graphCost returns GraphBytes as the bytes of a graph of shape [0, t]
// and the bytes each example adds; with weights, the graph also reads
// every layer's attention weights back. The backbone's share comes from
// its own file (backbone.memory); the parameters' from the model.
func graphCost(mc ModelConfig, params int64, t int, training, weights bool) (fixed, perExample int64) {
	T, D, V := int64(t), int64(mc.DModel), int64(mc.OutVocab)
	size := int64(mc.Dtype.Tensor().Size())
	bb := mc.backbone().memory(mc, T)

	// Elements of one example's forward tensors.
	act := 2 * T // ids and keep mask
	targets, logits := T, T*V
	if mc.Kind == data.Classification {
		targets, logits = 1, V
	}
	act += targets
	act += 2 * T * D // embedding; embedding plus positions
	act += bb.perExample + logits
	// The kernels' own scratch (row statistics, packed panels, per-core
	// partial sums) comes to a few percent more; measured under 2%.
	act += act / 20
	var weightsRead int64
	if weights {
		weightsRead = bb.attention
	}
	fixedElems := bb.fixed

	if !training {
		perExample = (act+logits+weightsRead)*size + logits*8 // logits read back, then as float64
		return gcHeadroom * (fixedElems*size + bb.nodeBytes), gcHeadroom * perExample
	}
	// Training: each forward tensor has a gradient of its size, and the
	// fused ops' backward passes hold about half as much again.
	per := act*5/2 + weightsRead + bb.trainingPerExample
	if mc.Dropout > 0 {
		per += bb.dropout
	}
	fixedElems += 2*params + bb.trainingFixed // the gradient nodes and the program's gradient buffers
	return gcHeadroom * (fixedElems*size + bb.trainingNodeBytes), gcHeadroom * per * size
}

// paramCount counts the parameters of the model mc describes by building
// it with shapes only (nn.ShapesOnly): no value is allocated, so a size
// the machine cannot hold is counted, not tried. Past two layers it builds
// one and two and adds the second's share once per further layer, so that
// an absurd depth is not built either: every backbone's layers past the
// first are alike (TestParamCount checks three layers against the model
// built). The count saturates rather than overflow; a config NewModel
// refuses counts 0.
func paramCount(mc ModelConfig) int64 {
	count := func(layers int) float64 {
		c := mc
		c.Dtype, c.Layers = shapesOnly, layers
		m, err := NewModel(c, rand.New(rand.NewPCG(0, 0))) // draws nothing
		if err != nil {
			return 0
		}
		var n float64
		for _, p := range m.Params() {
			size := 1.0
			for _, d := range p.Shape() {
				size *= float64(d)
			}
			n += size
		}
		return n
	}
	var n float64
	if mc.Layers <= 2 {
		n = count(mc.Layers)
	} else {
		one, two := count(1), count(2)
		n = one + float64(mc.Layers-1)*(two-one)
	}
	return int64(min(n, math.MaxInt64/64))
}

// evalRows returns how many examples of length t one evaluation graph of
// mc holds within budget bytes: at most evalBatch, at least one, or an
// error wrapping ErrGraphTooLarge when one does not fit.
func evalRows(mc ModelConfig, t int, weights bool, budget int64) (int, error) {
	fixed, per := graphCost(mc, 0, t, false, weights)
	if fixed+per > budget {
		return 0, fmt.Errorf("train: evaluate: a sequence of length %d needs about %s, over the %s an evaluation graph may take: %w",
			t, formatBytes(fixed+per), formatBytes(budget), ErrGraphTooLarge)
	}
	return int(min(int64(evalBatch), (budget-fixed)/per)), nil
}

// formatBytes writes n in MiB or GiB.
func formatBytes(n int64) string {
	if n >= 1<<40 {
		return fmt.Sprintf("%.1f TiB", float64(n)/(1<<40))
	}
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// checkTrainingMemory refuses a run whose largest training graph, with an
// evaluation graph and the weights, gradients and AdamW moments beside it,
// would not fit in the memory this machine has available: better one line
// now than the kernel killing the process, or Go's runtime dying with a
// dump of every goroutine, minutes in.
func checkTrainingMemory(mc ModelConfig, batch int, fileRun bool) error {
	avail, ok := memAvailable()
	if !ok {
		return nil
	}
	graph := GraphBytes(mc, batch, mc.MaxLen, true)
	weights := 4 * paramCount(mc) * int64(mc.Dtype.Tensor().Size()) // values, gradients, AdamW's m and v
	need := graph + EvalMemory + weights
	if need <= avail {
		return nil
	}
	var e *SettingError
	if one := GraphBytes(mc, 1, mc.MaxLen, true) + EvalMemory + weights; one > avail {
		// Not even one sequence fits: the model, or the length, is too big.
		lower := "lower {-d_model}, {-d_ff}, {-layers} or {-len}"
		if fileRun {
			lower = "shorten the data's longest lines ({len} is the longest line), or lower {-d_model}, {-d_ff} or {-layers}"
		}
		e = settingError("d_model", "a model of %d parameters needs about %s to train on even one sequence of length %d, more than the %s this machine has available; "+lower+": %v",
			paramCount(mc), formatBytes(one), mc.MaxLen, formatBytes(avail), ErrGraphTooLarge)
	} else {
		lower := "lower {-batch} or {-len}"
		if fileRun {
			lower = "lower {-batch}, or shorten the data's longest lines ({len} is the longest line)"
		}
		e = settingError("batch", "training batches of %d sequences of length %d need about %s (the batch·heads·len² attention tensors dominate), more than the %s this machine has available; "+lower+": %v",
			batch, mc.MaxLen, formatBytes(need), formatBytes(avail), ErrGraphTooLarge)
	}
	e.err = ErrGraphTooLarge
	return fmt.Errorf("train: %w", e)
}

// memAvailable reads how much memory the kernel says new work can use.
func memAvailable() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil && kb > 0 {
				return kb << 10, true
			}
		}
	}
	return 0, false
}

// Bytes a generated example holds, as an estimate with room to spare: the
// Example's two slices, their tokens (8 bytes each, input and target), its
// entry in the split's set of seen inputs, and its prediction at
// evaluation; doubled for the collector's headroom.
const (
	exampleBytes  = 2 * 160 // per example
	exampleTokens = 2 * 32  // per token of its length
)

// heldOutBytes estimates the memory of n generated examples of length up
// to maxLen.
func heldOutBytes(n, maxLen int) int64 {
	return int64(n) * (exampleBytes + exampleTokens*int64(maxLen))
}

// checkHeldOutMemory refuses generated held-out sets (val and test
// examples of length up to maxLen) that would not fit in the memory this
// machine has available, before generating any: 100,000,000 validation
// examples took all 24 GB of a machine and ignored signals for minutes.
func checkHeldOutMemory(val, test, maxLen int) error {
	avail, ok := memAvailable()
	if !ok {
		return nil
	}
	return heldOutFits(val, test, maxLen, avail)
}

// heldOutFits is checkHeldOutMemory against avail bytes.
func heldOutFits(val, test, maxLen int, avail int64) error {
	if val < 0 || test < 0 { // Validate's to refuse
		return nil
	}
	// In float64: sizes near the int range must not wrap around.
	needF := (float64(val) + float64(test)) * float64(exampleBytes+exampleTokens*maxLen)
	if needF <= float64(avail) {
		return nil
	}
	need := int64(min(needF, math.MaxInt64))
	key := "val_examples"
	if test > val {
		key = "test_examples"
	}
	e := settingError(key, "{val_examples} %d and {test_examples} %d of length up to %d need about %s, more than the %s this machine has available; lower {-"+key+"} or {-len}: %v",
		val, test, maxLen, formatBytes(need), formatBytes(avail), ErrGraphTooLarge)
	e.err = ErrGraphTooLarge
	return fmt.Errorf("train: %w", e)
}

// availableOr is memAvailable, or def where the kernel does not say.
func availableOr(def int64) int64 {
	if avail, ok := memAvailable(); ok {
		return avail
	}
	return def
}
