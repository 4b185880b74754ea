package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
)

// defaultModelConfig is the architecture of the default run (Default()).
func defaultModelConfig(kind data.Kind) ModelConfig {
	c := Default()
	return ModelConfig{
		Kind: kind, InVocab: c.Symbols + 2, OutVocab: c.Symbols + 2, MaxLen: c.Len,
		Architecture: c.Architecture,
	}
}

// randomExamples makes n examples of length t with random tokens and
// targets over a vocabulary of v.
func randomExamples(kind data.Kind, n, t, v int, rng *rand.Rand) []data.Example {
	exs := make([]data.Example, n)
	for i := range exs {
		in := make([]int, t)
		for j := range in {
			in[j] = 2 + rng.IntN(v-2)
		}
		target := []int{2 + rng.IntN(v-2)}
		if kind == data.Tagging {
			target = slices.Clone(in)
			slices.Reverse(target)
		}
		exs[i] = data.Example{Input: in, Target: target}
	}
	return exs
}

// TestGraphBytesCovers: GraphBytes, less the collector's headroom, is at
// least what building and running a graph allocates, and not absurdly more
// (within 2.5 times), for evaluation and training graphs of both kinds and
// lengths where the attention tensors dominate or do not, of every
// architecture — the toy of toy_backbone_test.go included, which declares
// nothing about its memory: the estimate comes from the graph it builds.
func TestGraphBytesCovers(t *testing.T) {
	for _, c := range []struct {
		b, t, d, h, l, f int
		norm, drop       bool
		pos              layers.Positional
		kind             data.Kind
		arch             Arch
		mask             layers.Mask
	}{
		{16, 128, 64, 4, 2, 128, false, false, layers.Sinusoidal, data.Tagging, Transformer, ""},
		{4, 256, 32, 8, 1, 64, true, false, layers.Learned, data.Tagging, Transformer, ""},
		{250, 12, 64, 4, 2, 128, false, false, layers.Sinusoidal, data.Tagging, Transformer, ""},
		{16, 128, 64, 4, 2, 128, true, true, layers.NoPosition, data.Classification, Transformer, ""},
		{2, 512, 64, 4, 2, 128, false, true, layers.Sinusoidal, data.Tagging, Transformer, ""},
		{16, 64, 64, 4, 2, 128, false, false, layers.Sinusoidal, data.Tagging, LSTM, ""},
		{8, 32, 32, 4, 1, 128, false, true, layers.Sinusoidal, data.Classification, LSTM, ""},
		{16, 64, 64, 4, 2, 128, false, false, layers.Sinusoidal, data.Tagging, GRU, ""},
		{8, 32, 32, 4, 2, 128, false, true, layers.Sinusoidal, data.Classification, GRU, ""},
		{4, 200, 32, 4, 1, 128, false, true, layers.Sinusoidal, data.Tagging, GRU, ""}, // extrapolated past sizingLen; not with -short
		{16, 64, 64, 4, 2, 128, false, true, layers.RotaryPosition, data.Tagging, Transformer, layers.CausalMaskKind},
		{16, 64, 64, 4, 3, 128, false, true, layers.Sinusoidal, data.Tagging, toy, ""}, // 3 layers: extrapolated from 1 and 2
	} {
		if testing.Short() && c.arch == GRU && c.t > sizingLen {
			continue // a minute under the race detector; TestGraphCostExtrapolates holds the extrapolation to the graph built
		}
		mc := ModelConfig{Kind: c.kind, InVocab: 12, OutVocab: 30, MaxLen: c.t, Architecture: Architecture{
			Model: c.arch, DModel: c.d, Layers: c.l, Dtype: Float32,
			TransformerConfig: TransformerConfig{Heads: c.h, DFF: c.f, Activation: layers.GELU,
				Norm: map[bool]layers.NormPlacement{false: layers.PostNorm, true: layers.PreNorm}[c.norm], Positional: c.pos, Mask: c.mask},
		}}
		if c.drop {
			mc.Dropout = 0.1
		}
		m, err := NewModel(mc, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		batch, err := data.MakeBatch(c.kind, randomExamples(c.kind, c.b, c.t, 12, rand.New(rand.NewPCG(3, 4))), c.b, c.t)
		if err != nil {
			t.Fatal(err)
		}
		for _, training := range []bool{false, true} {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			g, err := m.Build(c.b, c.t, map[bool]GraphKind{false: Evaluation, true: Training}[training])
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Load(batch, make([]float64, c.b*c.t)); err != nil {
				t.Fatal(err)
			}
			g.SampleDropout(rand.New(rand.NewPCG(5, 6)))
			if err := g.Prog.Run(); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			g.Close()
			used := int64(after.TotalAlloc - before.TotalAlloc)
			est := GraphBytes(mc, c.b, c.t, training)
			live := est / gcHeadroom
			t.Logf("%+v training %v: allocated %s, estimated %s live (%.3f), %s with headroom", c, training, formatBytes(used), formatBytes(live), float64(live)/float64(used), formatBytes(est))
			if float64(live)*raceAllocFactor < float64(used) || float64(live) > 2.5*float64(used) {
				t.Errorf("%+v training %v: GraphBytes/%d = %d bytes (×%g for the build), allocated %d; want at least that and at most 2.5 times", c, training, gcHeadroom, live, raceAllocFactor, used)
			}
		}
	}
}

// TestEvaluateFitsMemory: `qkv-eval -len 1000` on the default run's test
// set built one graph of 250 sequences of 1000 tokens and ran out of memory
// at 14 GB. Every evaluation graph now fits EvalMemory: that one, which is
// not run here, and a shorter one that is; a length of which not even one
// sequence fits is an error that names it.
func TestEvaluateFitsMemory(t *testing.T) {
	mc := defaultModelConfig(data.Tagging)
	m, err := NewModel(mc, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(m)
	defer ev.Close()

	exs := randomExamples(data.Tagging, 250, 1000, mc.OutVocab, rand.New(rand.NewPCG(3, 4)))
	b, tt, err := ev.shape(exs)
	if err != nil {
		t.Fatal(err)
	}
	if got := GraphBytes(mc, b, tt, false); b < 1 || tt != 1000 || got > EvalMemory {
		t.Errorf("250 sequences of 1000: batches [%d,%d] of %s, want [≥1,1000] within %s", b, tt, formatBytes(got), formatBytes(EvalMemory))
	}
	if old := GraphBytes(mc, 250, 1000, false); old < 10<<30 {
		t.Errorf("the graph that ran out of memory, [250,1000], is estimated at %s, want more than 10 GiB", formatBytes(old))
	}

	exs = randomExamples(data.Tagging, 40, 400, mc.OutVocab, rand.New(rand.NewPCG(5, 6)))
	if _, _, err := ev.Evaluate(exs); err != nil {
		t.Fatal(err)
	}
	for k := range ev.graphs {
		if got := GraphBytes(mc, k.b, k.t, false); got > EvalMemory {
			t.Errorf("40 sequences of 400: a graph of [%d,%d] takes %s, over %s", k.b, k.t, formatBytes(got), formatBytes(EvalMemory))
		}
		if k.b == 40 {
			t.Errorf("40 sequences of 400 went through one graph of [%d,%d]", k.b, k.t)
		}
	}

	long := randomExamples(data.Tagging, 1, 20000, mc.OutVocab, rand.New(rand.NewPCG(7, 8)))
	_, _, err = ev.Evaluate(long)
	if !errors.Is(err, ErrGraphTooLarge) || !strings.Contains(err.Error(), "length 20000") {
		t.Errorf("Evaluate of a sequence of 20000 tokens: %v, want ErrGraphTooLarge naming the length", err)
	}
	if _, err := ev.Attention(long[0].Input); !errors.Is(err, ErrGraphTooLarge) {
		t.Errorf("Attention of a sequence of 20000 tokens: %v, want ErrGraphTooLarge", err)
	}
	if _, err := ev.Predict([][]int{long[0].Input}); !errors.Is(err, ErrGraphTooLarge) {
		t.Errorf("Predict of a sequence of 20000 tokens: %v, want ErrGraphTooLarge", err)
	}
}

// TestEvaluateBatchingInvariant: metrics and predictions do not depend on
// how the examples are split into batches. Counts, accuracies and
// predictions are equal exactly; the loss is a sum of per-batch float32
// means, so it equals up to summation order.
func TestEvaluateBatchingInvariant(t *testing.T) {
	for _, kind := range []data.Kind{data.Tagging, data.Classification} {
		t.Run(kind.String(), func(t *testing.T) {
			mc := defaultModelConfig(kind)
			m, err := NewModel(mc, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(9, 10))
			var exs []data.Example
			for range 60 {
				exs = append(exs, randomExamples(kind, 1, 1+rng.IntN(100), mc.OutVocab, rng)...)
			}
			one := NewEvaluator(m)
			defer one.Close()
			one.budget = math.MaxInt64
			small := NewEvaluator(m)
			defer small.Close()
			small.budget = GraphBytes(mc, 7, 100, false)

			want, wantPreds, err := one.Evaluate(exs)
			if err != nil {
				t.Fatal(err)
			}
			got, gotPreds, err := small.Evaluate(exs)
			if err != nil {
				t.Fatal(err)
			}
			for k := range small.graphs {
				if k.b != 7 {
					t.Errorf("budget of 7 rows: a graph of [%d,%d]", k.b, k.t)
				}
			}
			for k := range one.graphs {
				if k.b != len(exs) {
					t.Errorf("unbounded budget: a graph of [%d,%d], want all %d examples in one", k.b, k.t, len(exs))
				}
			}
			if got.Examples != want.Examples || got.Targets != want.Targets || got.TokenAccuracy != want.TokenAccuracy ||
				got.SequenceAccuracy != want.SequenceAccuracy || !slices.EqualFunc(got.PositionAccuracy, want.PositionAccuracy, sameFloat) {
				t.Errorf("batches of 7: %+v\none batch: %+v", got, want)
			}
			if math.Abs(got.Loss-want.Loss) > 1e-6*want.Loss {
				t.Errorf("batches of 7: loss %v, one batch %v", got.Loss, want.Loss)
			}
			if !slices.EqualFunc(gotPreds, wantPreds, slices.Equal) {
				t.Errorf("predictions differ between batches of 7 and one batch")
			}
		})
	}
}

// sameFloat is == but for NaN, which equals NaN (a position not counted).
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// TestGraphBytesAllocatesNothing: sizing a graph far larger than this
// machine holds — the default transformer's training graph of 64
// sequences of 100,000 tokens, and a GRU's of 10,000 — allocates some
// tens of megabytes at most (the sizing graphs' nodes: a GRU's at length
// 64 take about 10 MB each), not the tensors; and the
// estimate is at least the attention weights alone
// (64·heads·T²·4 bytes).
func TestGraphBytesAllocatesNothing(t *testing.T) {
	tf := defaultModelConfig(data.Tagging)
	tf.MaxLen = 100_000
	gru := defaultModelConfig(data.Tagging)
	gru.Model, gru.MaxLen = GRU, 10_000
	for _, mc := range []ModelConfig{tf, gru} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		est := GraphBytes(mc, 64, mc.MaxLen, true)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s [64,%d]: estimated %s, allocated %.1f MB to size it", mc.Model, mc.MaxLen, formatBytes(est), float64(alloc)/1e6)
		if alloc > 128<<20 {
			t.Errorf("%s [64,%d]: sizing allocated %.1f MB, want at most 128 MiB", mc.Model, mc.MaxLen, float64(alloc)/1e6)
		}
		T := int64(mc.MaxLen)
		if floor := 64 * int64(mc.Heads) * T * T * 4; mc.Model != GRU && est < floor {
			t.Errorf("%s: estimate %s below the attention weights' %s", mc.Model, formatBytes(est), formatBytes(floor))
		}
		if floor := 64 * T * int64(mc.DModel) * 4 * 10; est < floor {
			t.Errorf("%s: estimate %s below ten [64,T,D] tensors' %s", mc.Model, formatBytes(est), formatBytes(floor))
		}
	}
}

// TestGraphCostExtrapolates: past sizingLen a GRU's graph is sized from
// lengths 16, 32 and 64; at 200 and 256 (-short: 200) that comes within 2%
// of the graph built at the length itself, in evaluation and in training.
func TestGraphCostExtrapolates(t *testing.T) {
	mc := ModelConfig{Kind: data.Tagging, InVocab: 12, OutVocab: 30, MaxLen: 256,
		Architecture: Architecture{Model: GRU, DModel: 32, Layers: 1, Dtype: Float32}}
	lengths := []int{200, 256}
	if testing.Short() {
		lengths = lengths[:1]
	}
	for _, n := range lengths {
		for _, training := range []bool{false, true} {
			fixed, per := graphCost(mc, n, training, false)
			kind := map[bool]GraphKind{false: Evaluation, true: Training}[training]
			s, err := graphSize(mc, 4, n, kind)
			if err != nil {
				t.Fatal(err)
			}
			exact := float64(s.Elems)*4*valueSlack + float64(s.Nodes)*nodeBytes
			if !training {
				exact += 4 * float64(n*mc.OutVocab) * 8
			}
			got := float64(fixed+4*per) / gcHeadroom
			t.Logf("T=%d training %v: extrapolated %.0f, built %.0f (%.4f)", n, training, got, exact, got/exact)
			if math.Abs(got/exact-1) > 0.02 {
				t.Errorf("T=%d training %v: extrapolated %.0f bytes, the graph built at T holds %.0f", n, training, got, exact)
			}
		}
	}
}
