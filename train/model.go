package train

import (
	"errors"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// The loss skips the targets data marks data.Ignore only while nn's
// IgnoreTarget equals it: a difference either way overflows uint here and
// stops the build.
const _, _ uint = data.Ignore - nn.IgnoreTarget, nn.IgnoreTarget - data.Ignore

// ModelConfig is the architecture of a Model: what the data decides (the
// kind of head, the vocabularies, the longest sequence) and the
// Architecture a Config embeds.
type ModelConfig struct {
	Kind     data.Kind // tagging (a prediction per position) or classification (one per sequence)
	InVocab  int       // input vocabulary size, specials included
	OutVocab int       // target vocabulary size
	MaxLen   int       // longest sequence a learned positional table must cover
	Architecture
}

// Model is embedding → backbone → head: a transformer's encoder (with its
// positions) or the recurrent baseline's LSTM between a token embedding
// and a linear head. A tagging head is a linear map at every position; a
// classification head is a linear map of the mean over unpadded
// positions.
type Model struct {
	Embed    *layers.Embedding // token ids → [B,T,D]
	Backbone Backbone          // *TransformerBackbone, *LSTMBackbone or *GRUBackbone: [B,T,D] → [B,T,width]
	Head     *layers.Linear    // width → the output vocabulary's logits
	cfg      ModelConfig
	// composed builds graphs from the fused ops' composed twins (see
	// nn.Ops); tests set it to prove a training step unchanged by them.
	composed bool
}

var _ nn.Module = (*Model)(nil)

// NewModel builds and initialises a model from rng. Kind and the
// vocabulary sizes must be given; an architecture setting left zero takes
// Default()'s value (d_model 64, 2 layers, float32, and the transformer's
// 4 heads, d_ff 128, relu, post-norm and sinusoidal positions), as
// Model.Config then reports.
func NewModel(cfg ModelConfig, rng *rand.Rand) (*Model, error) {
	cfg.Architecture.resolve()
	if cfg.Kind != data.Tagging && cfg.Kind != data.Classification {
		return nil, fmt.Errorf("train: model: invalid kind %v", cfg.Kind)
	}
	if cfg.InVocab <= 0 || cfg.OutVocab <= 0 {
		return nil, fmt.Errorf("train: model: vocabulary sizes must be positive, got %d and %d", cfg.InVocab, cfg.OutVocab)
	}
	emb, bb, err := newBackbone(cfg, rng)
	if err != nil {
		return nil, err
	}
	_, torchHead := bb.(interface{ torchInitHead() })
	head, err := layers.NewLinear("head", layers.LinearConfig{In: bb.Width(), Out: cfg.OutVocab, Dtype: cfg.Dtype.Tensor(), TorchInit: torchHead}, rng)
	if err != nil {
		return nil, err
	}
	m := &Model{Embed: emb, Backbone: bb, Head: head, cfg: cfg}
	if err := nn.CheckUnique(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Params lists every parameter: embedding, backbone, head.
func (m *Model) Params() []*nn.Param {
	ps := m.Embed.Params()
	ps = append(ps, m.Backbone.Params()...)
	return append(ps, m.Head.Params()...)
}

// NumParams counts the model's weights, the number to match when comparing
// architectures.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value().Shape().TotalSize()
	}
	return n
}

// Config returns the architecture.
func (m *Model) Config() ModelConfig { return m.cfg }

// Graph is the model compiled for one batch shape: its input tensors, which
// the caller fills before each Run, and its program.
type Graph struct {
	B, T    int           // the batch shape the graph was built for
	Ids     *tensor.Dense // [B,T] token ids
	Keep    *tensor.Dense // [B,T] 1 at real tokens
	Targets *tensor.Dense // [B·T] (tagging) or [B] (classification), −1 where nothing counts
	// Prog runs the graph. Its outputs: 0 is the logits [B·T,V] or [B,V];
	// 1.. are the attention weights [B,H,T,T] of each layer when asked for.
	Prog *nn.Program
	// attention is the number of attention outputs, one per layer, of an
	// EvaluationWithWeights graph.
	attention int
	// graph holds the nodes and the parameters bound into them; Params and
	// SampleDropout reach it.
	graph *nn.Graph
}

// ErrNoAttention is returned for attention weights of a model whose
// backbone has none, such as the LSTM and the GRU.
var ErrNoAttention = errors.New("the model's backbone (an LSTM or a GRU) has no attention weights")

// GraphKind says what a graph Build compiles is for.
type GraphKind int

// The kinds of graph. The zero GraphKind is invalid, so a forgotten
// argument shows.
const (
	Training              GraphKind = iota + 1 // dropout, loss and gradients
	Evaluation                                 // loss and logits only
	EvaluationWithWeights                      // Evaluation, and every layer's attention weights
)

// gradientProbe is the kind of graph a GradientProbe runs: no dropout, no
// attention weights, and gradients with respect to every bound parameter,
// the probe's input offset included.
const gradientProbe GraphKind = EvaluationWithWeights + 1

// Build compiles the model for batches of shape [b, t] as a graph of kind.
func (m *Model) Build(b, t int, kind GraphKind) (*Graph, error) {
	if kind < Training || kind > EvaluationWithWeights {
		return nil, fmt.Errorf("train: model: invalid graph kind %d", int(kind))
	}
	return m.build(b, t, kind, nil, nil)
}

// build is Build, with one hook for the gradient probe: a non-nil delta
// [b,t,D] is added to the embeddings, the backbone's input, so that
// ∂loss/∂delta is the gradient with respect to that input. (A backbone
// that adds positions adds them to x+δ: the gradient is the same as with
// respect to the embeddings after the positions.)
//
// A non-nil buf keeps the graph's op outputs in buffers it shares with
// other graphs that take turns with it (nn.Buffers).
//
// A graph that Gorgonia compiles wrongly (nn.ErrCorruptProgram) is built
// again with its nodes named afresh (nn.Rebuild).
func (m *Model) build(b, t int, kind GraphKind, delta *nn.Param, buf *nn.Buffers) (*Graph, error) {
	return nn.Rebuild(func(round int) (*Graph, error) { return m.buildRound(b, t, kind, delta, buf, round) })
}

// buildRound is build in one round of nn.Rebuild.
func (m *Model) buildRound(b, t int, kind GraphKind, delta *nn.Param, buf *nn.Buffers, round int) (*Graph, error) {
	training, weights := kind == Training, kind == EvaluationWithWeights
	g, err := nn.NewGraph(m.cfg.Dtype.Tensor(), training)
	if err != nil {
		return nil, err
	}
	g.SetRound(round)
	g.SetComposed(m.composed)
	if buf != nil {
		g.ShareBuffers(buf)
	}
	out, loss, outputs, err := m.trace(g, b, t, kind, delta)
	if err != nil {
		return nil, err
	}
	if out.Prog, err = nn.Compile(g, loss, training || kind == gradientProbe, outputs...); err != nil {
		return nil, err
	}
	if training && len(g.Params()) != len(m.Params()) {
		return nil, fmt.Errorf("train: model: graph binds %d of %d parameters", len(g.Params()), len(m.Params()))
	}
	if weights {
		out.attention = len(outputs) - 1
	}
	return out, nil
}

// trace builds the model into g for batches of shape [b, t] as a graph of
// kind: the inputs, the forward pass, the loss and the outputs a program
// reads back (the logits, then with EvaluationWithWeights each layer's
// attention weights). g may be a sizing graph (see graphSize).
func (m *Model) trace(g *nn.Graph, b, t int, kind GraphKind, delta *nn.Param) (out *Graph, loss *G.Node, outputs []*G.Node, err error) {
	weights := kind == EvaluationWithWeights
	out = &Graph{B: b, T: t, graph: g}
	ids, idv, err := g.Input("ids", b, t)
	if err != nil {
		return nil, nil, nil, err
	}
	keep, keepv, err := g.Input("keep", b, t)
	if err != nil {
		return nil, nil, nil, err
	}
	nTargets := b
	if m.cfg.Kind == data.Tagging {
		nTargets = b * t
	}
	targets, tv, err := g.Input("targets", nTargets)
	if err != nil {
		return nil, nil, nil, err
	}
	out.Ids, out.Keep, out.Targets = idv, keepv, tv

	x, err := m.Embed.Forward(g, ids) // [B,T,D]
	if err != nil {
		return nil, nil, nil, err
	}
	if delta != nil {
		d, err := g.Param(delta)
		if err != nil {
			return nil, nil, nil, err
		}
		if x, err = G.Add(x, d); err != nil { // [B,T,D]
			return nil, nil, nil, fmt.Errorf("train: model: %w", err)
		}
	}
	x, attn, err := m.Backbone.Forward(g, x, keep) // [B,T,width], [B,H,T,T] per layer
	if err != nil {
		return nil, nil, nil, err
	}
	if weights && len(attn) == 0 {
		return nil, nil, nil, fmt.Errorf("train: model: %w", ErrNoAttention)
	}
	width := x.Shape()[2]
	if m.cfg.Kind == data.Classification {
		if x, err = g.Ops().MaskedMean(x, keep); err != nil { // [B,width]
			return nil, nil, nil, err
		}
	} else if x, err = G.Reshape(x, tensor.Shape{b * t, width}); err != nil { // [B·T,width]
		return nil, nil, nil, fmt.Errorf("train: model: %w", err)
	}
	logits, err := m.Head.Forward(g, x) // [N,V]
	if err != nil {
		return nil, nil, nil, err
	}
	loss, err = g.Ops().CrossEntropy(logits, targets)
	if err != nil {
		return nil, nil, nil, err
	}
	outputs = []*G.Node{logits}
	if weights {
		outputs = append(outputs, attn...)
	}
	return out, loss, outputs, nil
}

// Params returns the parameters in the order of Prog.Grads.
func (gr *Graph) Params() []*nn.Param { return gr.graph.Params() }

// Gradients returns, after a Run of a training graph, each parameter's
// gradient by the parameter's name. The tensors are the program's own,
// overwritten by the next Run.
func (gr *Graph) Gradients() map[string]*tensor.Dense {
	grads := gr.Prog.Grads()
	out := make(map[string]*tensor.Dense, len(grads))
	for i, p := range gr.graph.Params() {
		if i < len(grads) {
			out[p.Name()] = grads[i]
		}
	}
	return out
}

// SampleDropout draws the dropout masks for the next training run.
func (gr *Graph) SampleDropout(rng *rand.Rand) { gr.graph.SampleDropout(rng) }

// Load copies a batch into the graph's inputs; scratch holds at least
// B·T float64s and saves an allocation per call.
func (gr *Graph) Load(b *data.Batch, scratch []float64) error {
	if b.B != gr.B || b.T != gr.T {
		return fmt.Errorf("train: batch [%d,%d] does not fit a graph built for [%d,%d]", b.B, b.T, gr.B, gr.T)
	}
	n := gr.B * gr.T
	if err := b.FillInputs(scratch[:n]); err != nil {
		return err
	}
	nn.FromFloat64s(gr.Ids, scratch[:n])
	if err := b.FillKeyMask(scratch[:n]); err != nil {
		return err
	}
	nn.FromFloat64s(gr.Keep, scratch[:n])
	nt := len(b.Targets)
	if err := b.FillTargets(scratch[:nt]); err != nil {
		return err
	}
	nn.FromFloat64s(gr.Targets, scratch[:nt])
	return nil
}

// Close releases the program.
func (gr *Graph) Close() error { return gr.Prog.Close() }
