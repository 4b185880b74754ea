package train

import (
	"fmt"
	"slices"
	"time"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/optim"
)

// StepTimes times training steps of m on one batch: the forward pass, the
// backward pass and gradient clipping, without the optimizer's update (so
// the weights, and every later step, stay as they were). It runs warmup
// untimed steps first, then n timed ones, and returns their durations
// sorted, fastest first.
func StepTimes(m *Model, b *data.Batch, warmup, n int) ([]time.Duration, error) {
	if n <= 0 || warmup < 0 {
		return nil, fmt.Errorf("train: step times: want n > 0 and warmup >= 0, got %d and %d", n, warmup)
	}
	g, err := m.Build(b.B, b.T, Training)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	if err := g.Load(b, make([]float64, b.B*b.T)); err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, n)
	for i := range warmup + n {
		start := time.Now()
		if err := g.Prog.Run(); err != nil {
			return nil, err
		}
		optim.ClipGradNorm(g.Prog.Grads(), 1)
		if i >= warmup {
			out = append(out, time.Since(start))
		}
	}
	slices.Sort(out)
	return out, nil
}
