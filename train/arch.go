package train

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
