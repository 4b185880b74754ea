package bench

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/optim"
	"github.com/qkv-dev/qkv/train"
)

// setup builds the default run's model, training graph, a batch source and
// the optimizer, as cmd/train does.
func setup(b *testing.B, dtype string) (*train.Model, *train.Graph, *train.Dataset, train.Config) {
	b.Helper()
	cfg := train.Default()
	cfg.Dtype = train.Dtype(dtype)
	ds, err := train.NewDataset(cfg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := train.NewModel(train.ModelConfig{
		Kind: ds.Kind, InVocab: ds.In.Size(), OutVocab: ds.Out.Size(), MaxLen: ds.MaxLen,
		DModel: cfg.DModel, Heads: cfg.Heads, Layers: cfg.Layers, DFF: cfg.DFF, Dropout: 0.1,
		Activation: cfg.Activation, Positional: cfg.Positional, Dtype: cfgDtype(dtype),
	}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	g, err := m.Build(cfg.Batch, ds.MaxLen, train.Training)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return m, g, ds, cfg
}

// BenchmarkTrainStep measures one optimizer step of the default model
// (d_model 64, 4 heads, 2 layers, batch 32, length ≤ 12): load a batch,
// forward, backward, clip, AdamW.
func BenchmarkTrainStep(b *testing.B) {
	for _, dtype := range []string{"float32", "float64"} {
		b.Run(dtype, func(b *testing.B) {
			_, g, ds, cfg := setup(b, dtype)
			batch, _ := data.NewBatch(ds.Kind, cfg.Batch, ds.MaxLen)
			scratch := make([]float64, cfg.Batch*ds.MaxLen)
			opt, _ := optim.NewAdam(optim.DefaultAdamW())
			rng := rand.New(rand.NewPCG(3, 4))
			tokens := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := batch.FillFrom(ds.Train); err != nil {
					b.Fatal(err)
				}
				tokens += batch.Tokens()
				if err := g.Load(batch, scratch); err != nil {
					b.Fatal(err)
				}
				g.SampleDropout(rng)
				if err := g.Prog.Run(); err != nil {
					b.Fatal(err)
				}
				optim.ClipGradNorm(g.Prog.Grads(), 1)
				if err := opt.Step(g.Params(), g.Prog.Grads(), 1e-3); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkEvaluate measures evaluating the default run's 500 validation
// examples with the forward-only graph.
func BenchmarkEvaluate(b *testing.B) {
	m, _, ds, _ := setup(b, "float32")
	ev := train.NewEvaluator(m)
	defer ev.Close()
	if _, _, err := ev.Evaluate(ds.Val); err != nil { // build the graph once
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := ev.Evaluate(ds.Val); err != nil {
			b.Fatal(err)
		}
	}
}

func cfgDtype(s string) tensor.Dtype {
	if s == "float64" {
		return tensor.Float64
	}
	return tensor.Float32
}
