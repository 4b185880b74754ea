package optim

import (
	"fmt"
	"math"
)

// Config holds Adam's hyperparameters. LR is the base learning rate a caller
// gives its schedule; Adam.Step takes the rate for each step explicitly.
// Decoupled selects AdamW: weight decay multiplies the weights by
// (1 − lr·WeightDecay) instead of adding WeightDecay·θ to the gradient.
type Config struct {
	LR          float64 `json:"lr"`
	Beta1       float64 `json:"beta1"` // β₁, the first moment's decay (0.9 in the paper)
	Beta2       float64 `json:"beta2"` // β₂, the second moment's decay (0.999 in the paper)
	Eps         float64 `json:"eps"`   // ε, added to √v̂ in the denominator
	WeightDecay float64 `json:"weight_decay"`
	Decoupled   bool    `json:"decoupled"`
}

// DefaultAdam returns torch.optim.Adam's defaults: lr 1e-3, betas (0.9, 0.999),
// eps 1e-8, no weight decay.
func DefaultAdam() Config {
	return Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// DefaultAdamW returns torch.optim.AdamW's defaults: those of DefaultAdam with
// decoupled weight decay 0.01.
func DefaultAdamW() Config {
	c := DefaultAdam()
	c.WeightDecay = 0.01
	c.Decoupled = true
	return c
}

// Validate reports the first hyperparameter out of range: LR and WeightDecay
// must be finite and non-negative, Beta1 and Beta2 in [0, 1), Eps finite and
// positive.
func (c Config) Validate() error {
	switch {
	case !finiteNonNeg(c.LR):
		return fmt.Errorf("optim: learning rate %v must be finite and >= 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("optim: beta1 %v must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("optim: beta2 %v must be in [0, 1)", c.Beta2)
	case !(c.Eps > 0 && !math.IsInf(c.Eps, 1)):
		return fmt.Errorf("optim: eps %v must be finite and > 0", c.Eps)
	case !finiteNonNeg(c.WeightDecay):
		return fmt.Errorf("optim: weight decay %v must be finite and >= 0", c.WeightDecay)
	}
	return nil
}

// finiteNonNeg is false for NaN, ±Inf and negative numbers.
func finiteNonNeg(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }
