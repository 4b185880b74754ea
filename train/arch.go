package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/qkv-dev/qkv/data"
)

// Arch is the sequence model between a Model's embedding and its head.
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

// IsLSTM reports whether a is the recurrent baseline.
func (a Arch) IsLSTM() bool { return a == LSTM }

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
