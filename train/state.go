package train

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
)

// state is everything besides weights, optimizer moments and config that an
// exact resume needs.
type state struct {
	Step       int     `json:"step"`
	OptimStep  int64   `json:"optimizer_step"`
	DropoutRNG []byte  `json:"dropout_rng"` // PCG state
	Data       []byte  `json:"data"`        // training stream state
	Window     window  `json:"window"`      // the unfinished logging window
	Best       *best   `json:"best,omitempty"`
	Val        Metrics `json:"val"` // validation metrics at Step, if evaluated
	Evaluated  bool    `json:"evaluated"`
	// HeldOut is the SHA-256 of a file run's held-out record (fileHeldOut).
	HeldOut string `json:"heldout_sha256,omitempty"`
}

// window accumulates the training loss between two log lines.
type window struct {
	Loss   float64 `json:"loss"`
	Steps  int     `json:"steps"`
	Tokens int     `json:"tokens"`
}

// validate reports a field of a decoded state that no run can have written.
// A state.json edited by hand with its manifest re-hashed passes the
// checksums; it must not pass this.
func (s state) validate(cfg Config) error {
	unit := func(x float64) bool { return x >= 0 && x <= 1 }
	switch {
	case s.Step < 0 || s.Step > cfg.Steps:
		return fmt.Errorf("step %d outside 0..%d (steps)", s.Step, cfg.Steps)
	case s.OptimStep < 0 || s.OptimStep > int64(s.Step):
		return fmt.Errorf("optimizer_step %d outside 0..%d (step)", s.OptimStep, s.Step)
	case len(s.DropoutRNG) == 0 || len(s.Data) == 0:
		return errors.New("dropout_rng and data must not be empty")
	case s.Window.Steps < 0 || s.Window.Tokens < 0 || s.Window.Steps > s.Step || math.IsNaN(s.Window.Loss) || math.IsInf(s.Window.Loss, 0):
		return fmt.Errorf("window %+v is not a logging window of step %d", s.Window, s.Step)
	case s.Best != nil && (s.Best.Step < 0 || s.Best.Step > s.Step || !unit(s.Best.SequenceAccuracy) || !(s.Best.Loss >= 0)):
		return fmt.Errorf("best %+v is not a validation of a step up to %d", *s.Best, s.Step)
	case s.Evaluated && (!unit(s.Val.TokenAccuracy) || !unit(s.Val.SequenceAccuracy) || !(s.Val.Loss >= 0) || s.Val.Examples <= 0):
		return fmt.Errorf("val %+v is not a validation result", s.Val)
	case cfg.Data != "" && s.HeldOut != "" && !isHexSHA256(s.HeldOut):
		return fmt.Errorf("heldout_sha256 %q is not a SHA-256", s.HeldOut)
	case cfg.Data == "" && s.HeldOut != "":
		return errors.New("heldout_sha256 is set for a generated task")
	}
	return nil
}

func isHexSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// best records the best checkpoint by validation metrics.
type best struct {
	Step             int     `json:"step"`
	SequenceAccuracy float64 `json:"eval_sequence_accuracy"`
	Loss             float64 `json:"eval_loss"`
}

// better reports whether validation metrics m beat b: higher exact-sequence
// accuracy, then lower loss.
func (b *best) better(m Metrics) bool {
	if b == nil {
		return true
	}
	if m.SequenceAccuracy != b.SequenceAccuracy {
		return m.SequenceAccuracy > b.SequenceAccuracy
	}
	return m.Loss < b.Loss
}
