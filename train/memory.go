package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/nn"
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
// batches of shape [b, t], a training graph if training. It comes from the
// graph itself, built for sizing (graphSize): every value the run holds —
// inputs, dropout masks, constants, each op's output, for training each
// gradient and backward intermediate (Gorgonia's tape machine keeps every
// node's value for the whole run) and the program's gradient buffers, the
// outputs read back — and each node's bookkeeping; for evaluation also
// the logits' float64 copy; times a factor of 2 for the collector's
// headroom. Parameters themselves live outside the graph and are not
// counted. A new backbone is sized by what it builds, with nothing to
// declare.
func GraphBytes(mc ModelConfig, b, t int, training bool) int64 {
	fixed, per := graphCost(mc, t, training, false)
	return sat(fixed, sat(int64(b), per, mul), add)
}

// Calibration of a graph's size to the bytes a run allocates, measured
// with TestGraphBytesCovers over every architecture: the kernels' own
// scratch (row statistics, packed panels, the LSTM's backward state) and
// the tensor library's headers come to at most a quarter more than the
// values; a node's bookkeeping (node, type, shape, tape instructions,
// registers) to 5 to 9 KB, whatever its size.
const (
	valueSlack = 1.25
	nodeBytes  = 10 << 10
)

// sizingLen is the longest length a graph whose node count grows with the
// length (a recurrence unrolled step by step, such as the GRU) is built
// at for sizing; beyond it such a graph's size is extrapolated (see
// graphCost). A graph whose node count does not (the transformer, the
// LSTM's fused scan) is built at any length: a sizing graph costs nothing
// per element.
const sizingLen = 64

// graphCost returns GraphBytes as the bytes of a graph of shape [0, t]
// and the bytes each example adds; with weights, the graph also reads
// every layer's attention weights back. Every size is linear in the batch
// size, and past the second layer in the depth (every backbone's layers
// past the first are alike), so graphs of one and two examples, and of
// one and two layers, give the rest. Lengths past sizingLen of a graph
// whose node count grows with the length are extrapolated from lengths
// 16, 32 and 64 as a + b·T + c·T·log₂T: a recurrence unrolled step by
// step (b, layers.GRU), or one that splits its steps by halving (c); a
// graph that cannot be built costs the most there is.
func graphCost(mc ModelConfig, t int, training, weights bool) (fixed, perExample int64) {
	kind := Evaluation
	switch {
	case training:
		kind = Training
	case weights:
		kind = EvaluationWithWeights
	}
	size := float64(mc.Dtype.Tensor().Size())
	if mc.Dtype == shapesOnly || size == 0 {
		size = 4
	}
	// bytes is the cost of a graph of b examples of length n and l layers.
	bytes := func(b, n, l int) (float64, int, bool) {
		c := mc
		c.Layers = l
		s, err := graphSize(c, b, n, kind)
		if err != nil {
			return 0, 0, false
		}
		v := float64(s.Elems) * size * valueSlack
		if !training {
			logits := float64(mc.OutVocab)
			if mc.Kind == data.Tagging {
				logits *= float64(n)
			}
			v += float64(b) * logits * 8 // the evaluator's float64 copy
		}
		return v + float64(s.Nodes)*nodeBytes, s.Nodes, true
	}
	// atLayers is the cost of b examples of length n at mc.Layers.
	atLayers := func(b, n int) (float64, int, bool) {
		if mc.Layers <= 2 {
			return bytes(b, n, mc.Layers)
		}
		one, nodes, ok1 := bytes(b, n, 1)
		two, _, ok2 := bytes(b, n, 2)
		return one + float64(mc.Layers-1)*(two-one), nodes, ok1 && ok2
	}
	// at is the cost of b examples of length t.
	at := func(b int) (float64, bool) {
		if t <= sizingLen {
			c, _, ok := atLayers(b, t)
			return c, ok
		}
		var c [3]float64
		var nodes [3]int
		for i, n := range []int{sizingLen / 4, sizingLen / 2, sizingLen} {
			var ok bool
			if c[i], nodes[i], ok = atLayers(b, n); !ok {
				return 0, false
			}
		}
		if nodes[0] == nodes[2] { // no node per step: built at t itself
			v, _, ok := atLayers(b, t)
			return v, ok
		}
		return fitLog(sizingLen/4, c, float64(t)), true
	}
	one, ok1 := at(1)
	two, ok2 := at(2)
	if !ok1 || !ok2 {
		return math.MaxInt64 / 4, math.MaxInt64 / 4
	}
	clamp := func(x float64) int64 { return int64(max(0, min(x*gcHeadroom, math.MaxInt64/4))) }
	return clamp(2*one - two), clamp(two - one)
}

// fitLog returns f(t) for the f(T) = a + b·T + c·T·log₂T through
// (n, y[0]), (2n, y[1]) and (4n, y[2]).
func fitLog(n int, y [3]float64, t float64) float64 {
	x := [3]float64{float64(n), float64(2 * n), float64(4 * n)}
	// Solve the 3×3 system by Cramer's rule over the basis 1, T, T·log₂T.
	row := func(x float64) [3]float64 { return [3]float64{1, x, x * math.Log2(x)} }
	m := [3][3]float64{row(x[0]), row(x[1]), row(x[2])}
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(m)
	var coef [3]float64
	for j := range 3 {
		mj := m
		for i := range 3 {
			mj[i][j] = y[i]
		}
		coef[j] = det(mj) / d
	}
	r := row(t)
	return coef[0]*r[0] + coef[1]*r[1] + coef[2]*r[2]
}

// graphSize builds the graph of kind that a model of mc compiles for
// batches [b, t] as a sizing graph — the model's parameters and the
// graph's values all shapes only (nn.ShapesOnly, nn.NewSizingGraph), so
// that nothing of the sizes asked about is allocated — and returns its
// size.
func graphSize(mc ModelConfig, b, t int, kind GraphKind) (nn.GraphSize, error) {
	dt := mc.Dtype.Tensor()
	if mc.Dtype == shapesOnly || dt.Size() == 0 {
		dt = Float32.Tensor()
	}
	mc.Dtype = shapesOnly
	m, err := NewModel(mc, rand.New(rand.NewPCG(0, 0))) // draws nothing
	if err != nil {
		return nn.GraphSize{}, err
	}
	g, err := nn.NewSizingGraph(dt, kind == Training)
	if err != nil {
		return nn.GraphSize{}, err
	}
	_, loss, outputs, err := m.trace(g, b, t, kind, nil)
	if errors.Is(err, ErrNoAttention) {
		// No weights to read back: sized as what it is, an evaluation
		// graph; building it for weights says so (ErrNoAttention).
		return graphSize(mc, b, t, Evaluation)
	}
	if err != nil {
		return nn.GraphSize{}, err
	}
	return nn.Size(g, loss, kind == Training, outputs...)
}

// sat combines two non-negative sizes with op, saturating at
// math.MaxInt64/4 rather than overflowing.
func sat(x, y int64, op func(float64, float64) float64) int64 {
	return int64(min(op(float64(x), float64(y)), math.MaxInt64/4))
}

func add(x, y float64) float64 { return x + y }
func mul(x, y float64) float64 { return x * y }

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
	fixed, per := graphCost(mc, t, false, weights)
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
