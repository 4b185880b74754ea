package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/optim"
	"github.com/qkv-dev/qkv/train"
)

// Size is one of the model sizes qkv is compared with PyTorch at. Every
// batch is full: Batch sequences of exactly Len tokens.
type Size struct {
	Name                       string
	DModel, Heads, Layers, DFF int
	Len, Batch                 int
}

// Sizes are the sizes of issue 8, the same in bench/torch_bench.py.
var Sizes = []Size{
	{Name: "default", DModel: 64, Heads: 4, Layers: 2, DFF: 128, Len: 12, Batch: 32},
	{Name: "small", DModel: 64, Heads: 4, Layers: 2, DFF: 256, Len: 32, Batch: 64},
	{Name: "large", DModel: 256, Heads: 8, Layers: 4, DFF: 1024, Len: 64, Batch: 32},
}

// SizeNamed returns the size called name.
func SizeNamed(name string) (Size, error) {
	for _, s := range Sizes {
		if s.Name == name {
			return s, nil
		}
	}
	return Size{}, fmt.Errorf("bench: unknown size %q (want default, small or large)", name)
}

// Run is a model compiled at one size for training or forward-only
// evaluation, with a stream of reverse-task batches and (for training)
// AdamW with gradient clipping, as cmd/train runs it but without dropout.
type Run struct {
	Size     Size
	Training bool
	// InVocab and OutVocab are the reverse task's vocabulary sizes, specials
	// included; bench/torch_bench.py uses the same.
	InVocab, OutVocab int
	graph             *train.Graph
	src               data.Source
	batch             *data.Batch
	scratch           []float64
	opt               *optim.Adam
}

// NewRun builds a Run; dtype is "float32" or "float64".
func NewRun(s Size, dtype string, training bool) (*Run, error) {
	cfg := train.Default()
	cfg.Task = "reverse"
	cfg.MinLen, cfg.Len = s.Len, s.Len
	cfg.DModel, cfg.Heads, cfg.Layers, cfg.DFF, cfg.Batch = s.DModel, s.Heads, s.Layers, s.DFF, s.Batch
	cfg.Dropout = 0
	cfg.Dtype = train.Dtype(dtype)
	cfg.ValExamples, cfg.TestExamples = 1, 1
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ds, err := train.NewDataset(cfg)
	if err != nil {
		return nil, err
	}
	m, err := train.NewModel(train.ModelConfig{
		Kind: ds.Kind, InVocab: ds.In.Size(), OutVocab: ds.Out.Size(), MaxLen: ds.MaxLen,
		Architecture: cfg.Architecture,
	}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, err
	}
	kind := train.Evaluation
	if training {
		kind = train.Training
	}
	g, err := m.Build(s.Batch, ds.MaxLen, kind)
	if err != nil {
		return nil, err
	}
	batch, err := data.NewBatch(ds.Kind, s.Batch, ds.MaxLen)
	if err != nil {
		return nil, err
	}
	r := &Run{Size: s, Training: training, InVocab: ds.In.Size(), OutVocab: ds.Out.Size(), graph: g, src: ds.Train, batch: batch, scratch: make([]float64, s.Batch*ds.MaxLen)}
	if training {
		if r.opt, err = optim.NewAdam(optim.DefaultAdamW()); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// EvalBatch returns the number of sequences qkv-train's validation runs
// through its graph at once at size s, float32: as many as fit
// train.EvalMemory by train.GraphBytes, at most 250 (the rule of
// train.Evaluator). bench/torch_train.py evaluates in batches of the same
// size, so that the two programs' memory compares like with like.
func EvalBatch(s Size) (int, error) {
	_, mc, err := copyModel(s)
	if err != nil {
		return 0, err
	}
	fixed := train.GraphBytes(mc, 0, s.Len, false)
	per := train.GraphBytes(mc, 1, s.Len, false) - fixed
	return int(min(250, (train.EvalMemory-fixed)/per)), nil
}

// copyModel returns the dataset and model configuration of the copy task
// qkv-train runs at size s in bench/compare.sh's command-line mode.
func copyModel(s Size) (*train.Dataset, train.ModelConfig, error) {
	cfg := train.Default()
	cfg.Task = "copy"
	cfg.MinLen, cfg.Len = s.Len, s.Len
	cfg.DModel, cfg.Heads, cfg.Layers, cfg.DFF, cfg.Batch = s.DModel, s.Heads, s.Layers, s.DFF, s.Batch
	if err := cfg.Validate(); err != nil {
		return nil, train.ModelConfig{}, err
	}
	ds, err := train.NewDataset(cfg)
	if err != nil {
		return nil, train.ModelConfig{}, err
	}
	return ds, train.ModelConfig{Kind: ds.Kind, InVocab: ds.In.Size(), OutVocab: ds.Out.Size(), MaxLen: ds.MaxLen, Architecture: cfg.Architecture}, nil
}

// EvalGraphBytes measures the memory of one of qkv-train's evaluation
// graphs at size s, float32: the live heap that building the graph at
// EvalBatch rows and running it once adds, after a full collection. It is
// the allowance "one evaluation graph" of issue 17's memory rule, which
// compare.sh's command-line mode checks: qkv-train's peak resident memory
// within 10% of qkvbench's plus one evaluation graph.
func EvalGraphBytes(s Size) (int64, error) {
	ds, mc, err := copyModel(s)
	if err != nil {
		return 0, err
	}
	rows, err := EvalBatch(s)
	if err != nil {
		return 0, err
	}
	m, err := train.NewModel(mc, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return 0, err
	}
	batch, err := data.NewBatch(ds.Kind, rows, ds.MaxLen)
	if err != nil {
		return 0, err
	}
	if err := batch.FillFrom(ds.Train); err != nil {
		return 0, err
	}
	scratch := make([]float64, rows*ds.MaxLen)
	before := liveHeap()
	g, err := m.Build(rows, ds.MaxLen, train.Evaluation)
	if err != nil {
		return 0, err
	}
	defer g.Close()
	if err := g.Load(batch, scratch); err != nil {
		return 0, err
	}
	if err := g.Prog.Run(); err != nil {
		return 0, err
	}
	after := liveHeap()
	runtime.KeepAlive(g)
	return int64(after) - int64(before), nil
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Step loads the next batch and runs one training step (forward, backward,
// clipping, AdamW) or one forward pass, returning the tokens it processed.
func (r *Run) Step() (int, error) {
	if err := r.batch.FillFrom(r.src); err != nil {
		return 0, err
	}
	if err := r.graph.Load(r.batch, r.scratch); err != nil {
		return 0, err
	}
	if err := r.graph.Prog.Run(); err != nil {
		return 0, err
	}
	if r.Training {
		optim.ClipGradNorm(r.graph.Prog.Grads(), 1)
		if err := r.opt.Step(r.graph.Params(), r.graph.Prog.Grads(), 1e-3); err != nil {
			return 0, err
		}
	}
	return r.batch.Tokens(), nil
}

// Close releases the compiled program.
func (r *Run) Close() error { return r.graph.Close() }
