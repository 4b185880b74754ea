package train

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
)

// Backbone is the sequence model between a Model's token embedding and its
// head. Each architecture lives in one file (transformer.go, lstm.go,
// gru.go) that holds its config struct, that config's validation and
// flags, how it builds and initialises its layers, and its Forward.
//
// To add an architecture, write that file: a config struct XConfig whose
// methods implement backbone (see GRUConfig, which has no settings of its
// own, and TransformerConfig, which has), a type implementing Backbone, and
// the one registration line
//
//	func init() { registerBackbone(func(a *Architecture) backbone { return &a.XConfig }) }
//
// where a backbone with settings of its own embeds XConfig in Architecture
// so that its settings are config.json keys; one without returns a new
// &XConfig{}. Nothing else names an architecture: the config's checks, the
// flags and the checkpoint go through the registered backbone, and the
// parameter count and the memory estimate come from the model it builds
// (paramCount, GraphBytes).
type Backbone interface {
	nn.Module
	// Forward maps embedded tokens x [B,T,D] to features [B,T,Width()].
	// keep [B,T] is 1 at real tokens and 0 at padding. The backbone adds
	// its own positions, if it needs any, and its input dropout. It
	// returns each layer's attention weights [B,H,T,T], or none for a
	// backbone without attention.
	Forward(g *nn.Graph, x, keep *G.Node) (y *G.Node, attention []*G.Node, err error)
	// Width is the size of Forward's features, the head's input.
	Width() int
}

// Arch names a Backbone: the value of the model setting.
type Arch string

// The architectures a Model can have. The zero Arch is the transformer,
// so configs written before LSTMs existed read as what they were.
const (
	Transformer Arch = "transformer" // the encoder of Vaswani et al. (2017)
	LSTM        Arch = "lstm"        // a (bidirectional) LSTM, the recurrent baseline
)

// String returns the architecture's name.
func (a Arch) String() string {
	if a == "" {
		return string(Transformer)
	}
	return string(a)
}

// MarshalText returns the name.
func (a Arch) MarshalText() ([]byte, error) { return []byte(a), nil }

// UnmarshalText takes the name as it is; Config.Validate reports an
// unknown one.
func (a *Arch) UnmarshalText(b []byte) error { *a = Arch(b); return nil }

// Architecture is the sequence model's settings: which backbone, the
// settings every backbone shares, and each backbone's own. Config and
// ModelConfig embed it, so each setting is written once: in config.json
// its fields are top-level keys, and each flag's name is its key with -
// for _.
type Architecture struct {
	Model   Arch    `json:"model,omitempty"` // a registered architecture: transformer (the default), gru or lstm
	DModel  int     `json:"d_model"`         // the width of the embedding and of the backbone's state
	Layers  int     `json:"layers"`          // the backbone's depth
	Dropout float64 `json:"dropout"`         // on the embedding and inside the backbone, while training
	TransformerConfig
	LSTMConfig
	GRUConfig
	Dtype Dtype `json:"dtype"` // float32 or float64
}

// registry holds every architecture's settings, in registration order:
// each backbone file's init adds its own (registerBackbone). It is written
// only while the package initialises.
var registry []func(a *Architecture) backbone

// registerBackbone adds an architecture, given as where its settings live
// in an Architecture. Registering a name twice is a programming error, and
// panics while the package initialises.
func registerBackbone(settings func(a *Architecture) backbone) {
	var a Architecture
	name := settings(&a).arch()
	for _, r := range registry {
		if r(&a).arch() == name {
			panic(fmt.Sprintf("train: backbone %q registered twice", name))
		}
	}
	registry = append(registry, settings)
}

// backbones lists every registered architecture's settings in a: the
// transformer (the default) first, then the others by name. A registered
// config's keys are refused for the other architectures when given (see
// ForeignKey).
func (a *Architecture) backbones() []backbone {
	bs := make([]backbone, len(registry))
	for i, r := range registry {
		bs[i] = r(a)
	}
	slices.SortStableFunc(bs, func(x, y backbone) int {
		if (x.arch() == Transformer) != (y.arch() == Transformer) {
			if x.arch() == Transformer {
				return -1
			}
			return 1
		}
		return strings.Compare(string(x.arch()), string(y.arch()))
	})
	return bs
}

// backbone is what an architecture's file provides, implemented by its
// config struct (embedded in Architecture).
type backbone interface {
	// arch is the architecture's name.
	arch() Arch
	// check reports the settings of the architecture a that cannot work:
	// when active (a.Model is this architecture) its own settings in the
	// context of the shared ones; otherwise only that its settings which
	// must stay unset are.
	check(a *Architecture, active bool) []error
	// resolve fills in the settings left automatic, and those left zero
	// with Default()'s (active only).
	resolve(a *Architecture)
	// bindFlags binds a flag to each of its settings; the flag's name is
	// the setting's config key with - for _.
	bindFlags(fs *flag.FlagSet)
	// build makes and initialises the embedding and the backbone of mc,
	// drawing from rng in a fixed order. Its parameters' dtype is
	// mc.Dtype.Tensor(), which is nn.ShapesOnly when paramCount builds the
	// model to count its parameters.
	build(mc ModelConfig, rng *rand.Rand) (*layers.Embedding, Backbone, error)
	// sequentialDepth is SequentialDepth for this architecture.
	sequentialDepth(mc ModelConfig, t int) int
}

// backbone returns the registered architecture a.Model names, or nil.
func (a *Architecture) backbone() backbone {
	name := a.Model
	if name == "" {
		name = Transformer
	}
	for _, b := range a.backbones() {
		if b.arch() == name {
			return b
		}
	}
	return nil
}

// archNames lists the registered architectures: "transformer, gru or
// lstm".
func archNames() string {
	var a Architecture
	var names []string
	for _, b := range a.backbones() {
		names = append(names, string(b.arch()))
	}
	return list(names, "or")
}

// check reports the first settings of a that cannot work.
func (a *Architecture) check() []error {
	var errs []error
	add := func(ok bool, key, format string, args ...any) {
		if !ok {
			errs = append(errs, settingError(key, format, args...))
		}
	}
	active := a.backbone()
	add(a.DModel > 0 && a.Layers > 0, "d_model", "{d_model} and layers must be positive, got %d and %d", a.DModel, a.Layers)
	add(a.Dropout >= 0 && a.Dropout < 1, "dropout", "dropout must be in [0, 1), got %g", a.Dropout)
	add(active != nil, "model", "unknown model %q (want %s)", string(a.Model), archNames())
	for _, b := range a.backbones() {
		errs = append(errs, b.check(a, b == active)...)
	}
	add(a.Dtype == Float32 || a.Dtype == Float64, "dtype", "unknown dtype %q (want float32 or float64)", string(a.Dtype))
	return errs
}

// resolve fills in the settings the architecture leaves automatic, and
// gives each setting left zero whose zero cannot work Default()'s value,
// so that a ModelConfig with nothing but its kind and vocabularies makes
// the default model. (Config.Validate refuses those zeros in a run's
// config, where they are more likely a mistake.)
func (a *Architecture) resolve() {
	d := Default().Architecture
	if a.DModel == 0 {
		a.DModel = d.DModel
	}
	if a.Layers == 0 {
		a.Layers = d.Layers
	}
	if a.Dtype == "" {
		a.Dtype = d.Dtype
	}
	if b := a.backbone(); b != nil {
		b.resolve(a)
	}
}

// BindFlags binds a flag to every architecture setting of a, with a's
// values as the defaults -h shows. A flag's name is its config key with -
// for _.
func (a *Architecture) BindFlags(fs *flag.FlagSet) {
	fs.TextVar(&a.Model, "model", a.Model, "sequence model: "+archNames())
	fs.IntVar(&a.DModel, "d-model", a.DModel, "model width d_model (an lstm's hidden size)")
	fs.IntVar(&a.Layers, "layers", a.Layers, "encoder layers (an lstm's depth)")
	fs.Float64Var(&a.Dropout, "dropout", a.Dropout, "dropout rate on attention weights, hidden layers, residual branches and embeddings")
	for _, b := range a.backbones() {
		b.bindFlags(fs)
	}
	fs.TextVar(&a.Dtype, "dtype", a.Dtype, "float32 or float64")
}

// ForeignKey reports whether the config key belongs to an architecture
// other than model's: a setting that model does not use, which a command
// should refuse rather than silently ignore. It names that architecture.
func ForeignKey(model Arch, key string) (Arch, bool) {
	var a Architecture
	a.Model = model
	active := a.backbone()
	for _, b := range a.backbones() {
		if b != active && slices.Contains(jsonKeys(b), key) {
			return b.arch(), true
		}
	}
	return "", false
}

// Keys returns the config keys of the settings model uses: the shared ones
// and its own.
func (a Architecture) Keys() []string {
	keys := []string{"model", "d_model", "layers", "dropout", "dtype"}
	if b := a.backbone(); b != nil {
		keys = append(keys, jsonKeys(b)...)
	}
	return keys
}

// describe lists the settings a's model uses: "model lstm, d_model 64, …".
func (a Architecture) describe() string {
	var m map[string]any
	b, _ := json.Marshal(a) // plain fields: cannot fail
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 32000000000, not 3.2e+10
	_ = dec.Decode(&m)
	m["model"] = a.Model.String()
	var parts []string
	for _, k := range a.Keys() {
		parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// newBackbone builds the embedding and backbone of mc.
func newBackbone(mc ModelConfig, rng *rand.Rand) (*layers.Embedding, Backbone, error) {
	b := mc.backbone()
	if b == nil {
		return nil, nil, fmt.Errorf("train: model: unknown model %q (want %s)", string(mc.Model), archNames())
	}
	return b.build(mc, rng)
}

// SequentialDepth is the number of steps of a forward pass over t
// positions that must run one after another, whatever the hardware, as
// the architecture dictates. A transformer layer computes every position
// at once from the layer below — attention, feed-forward, residuals and
// norms are a fixed chain of matrix operations whose length does not
// depend on t — so its depth is one step per layer. An LSTM layer's state
// at position s needs its state at s−1: t steps per layer (the two
// directions of a bidirectional layer run side by side, and the next
// layer needs both finished). Each step is itself a fixed chain of matrix
// operations, so the two counts share a unit.
func SequentialDepth(cfg ModelConfig, t int) int {
	if b := cfg.backbone(); b != nil {
		return b.sequentialDepth(cfg, t)
	}
	return 0
}

// NewTaskModel returns the model a run of c, a generated task, starts
// from — the same architecture and the same initial weights as New(c)'s —
// without making data or a run directory: for counting parameters when
// matching architectures, and for timing.
func NewTaskModel(c Config) (*Model, error) {
	if c.Data != "" {
		return nil, fmt.Errorf("train: task model: needs a generated task, not a data file")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	task, err := data.NewTask(c.Task, c.Symbols)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	c = c.resolve(nil)
	mc := c.modelConfig(task.Kind(), task.InVocab().Size(), task.OutVocab().Size())
	return NewModel(mc, rand.New(rand.NewPCG(c.Seed, seedFor(c.Seed, streamInit))))
}

// lengthLimited is implemented by a Backbone that takes inputs of a
// limited length (learned positions): maxLen returns that length, or 0 for
// none, and what sets it, to complete "N tokens; <why> <max>".
type lengthLimited interface {
	maxLen() (limit int, why string)
}

// inspectable is implemented by a Backbone with attention that can show
// how it attends: inspect runs x [1,T,D] (embedded tokens of one
// sequence, keep [1,T]) through it and returns, for each layer, its
// queries and keys [1,T,D] and attention weights [1,H,T,T].
type inspectable interface {
	inspect(g *nn.Graph, x, keep *G.Node) ([]*G.Node, error)
}
