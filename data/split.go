package data

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// Stream constants: the second word of each rand.NewPCG, so that streams
// drawn from one seed (val, test, the probe, training) do not coincide.
// They spell "qkv-val", "qkv-test" and so on in ASCII.
const (
	streamVal       uint64 = 0x716b762d76616c00
	streamTest      uint64 = 0x716b762d74657374
	streamProbe     uint64 = 0x716b762d70726f62
	streamTrain     uint64 = 0x716b762d74726e00
	streamList      uint64 = 0x716b762d6c697374
	streamFileSplit uint64 = 0x716b762d66696c65
)

// Bounds that turn a too-small sequence space into an error, not a hang.
const (
	probeDraws     = 2000    // training draws NewSplits samples to measure rejection
	maxHeldOutFrac = 0.9     // largest share of training draws the held-out sets may take
	maxRejects     = 1 << 20 // consecutive rejections after which a Source gives up
)

// SplitConfig says how to make held-out sets for a generated task.
type SplitConfig struct {
	Seed   uint64 `json:"seed"`    // seeds the validation and test streams
	MinLen int    `json:"min_len"` // training and validation lengths are uniform in [MinLen, MaxLen]
	MaxLen int    `json:"max_len"` // the longest sequence drawn
	Val    int    `json:"val"`     // validation examples
	Test   int    `json:"test"`    // test examples
	// TestLen is 0 for test lengths like training's; otherwise every test
	// example has exactly TestLen tokens (> MaxLen: a length-generalisation set).
	TestLen int `json:"test_len"`
}

// Validate checks cfg against task.
func (c SplitConfig) Validate(task Task) error {
	lim := MaxLength(task)
	switch {
	case c.MinLen < task.MinLength():
		return fmt.Errorf("data: split for %s: min length %d below the task's minimum %d", task.Name(), c.MinLen, task.MinLength())
	case c.MaxLen < c.MinLen:
		return fmt.Errorf("data: split for %s: max length %d below min length %d", task.Name(), c.MaxLen, c.MinLen)
	case lim > 0 && c.MaxLen > lim:
		return fmt.Errorf("data: split for %s: max length %d above the task's limit %d", task.Name(), c.MaxLen, lim)
	case c.Val < 0 || c.Test < 0:
		return fmt.Errorf("data: split for %s: negative held-out count (val %d, test %d)", task.Name(), c.Val, c.Test)
	case c.TestLen < 0 || c.TestLen > 0 && c.TestLen < task.MinLength():
		return fmt.Errorf("data: split for %s: test length %d below the task's minimum %d", task.Name(), c.TestLen, task.MinLength())
	case lim > 0 && c.TestLen > lim:
		return fmt.Errorf("data: split for %s: test length %d above the task's limit %d", task.Name(), c.TestLen, lim)
	}
	return nil
}

// Splits holds a task's validation and test sets, each drawn from its own
// stream, deduplicated, and disjoint from each other; training streams from
// Train reject every input sequence held here.
type Splits struct {
	Val, Test []Example // validation and test examples, disjoint

	task        Task
	cfg         SplitConfig
	held        map[string]struct{} // keys of Val and Test inputs
	fingerprint uint64              // ties Source states to these splits
	ctx         context.Context     // while NewSplitsContext draws
}

// stopped returns the context's cause, wrapped, once it is done, looking
// every checkEvery draws.
func (s *Splits) stopped(set string, draws int) error {
	if draws%checkEvery != 0 || s.ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("data: %s: drawing %s examples stopped: %w", s.task.Name(), set, context.Cause(s.ctx))
}

// NewSplits draws the held-out sets for task. It fails with ErrSpaceTooSmall
// when the requested counts cannot be found among the sequences at the
// requested lengths within a bounded number of draws, or when the held-out
// sets would take more than 90% of training draws.
func NewSplits(task Task, cfg SplitConfig) (*Splits, error) {
	return NewSplitsContext(context.Background(), task, cfg)
}

// checkEvery is how many draws pass between two looks at the context: a
// draw is at most microseconds, so a cancelled context stops the drawing
// of a million held-out examples within milliseconds.
const checkEvery = 256

// NewSplitsContext is NewSplits stopped by ctx: drawing a large held-out
// set looks at ctx every few hundred draws and returns its error (or
// cause), wrapped, once it is done.
func NewSplitsContext(ctx context.Context, task Task, cfg SplitConfig) (*Splits, error) {
	if err := cfg.Validate(task); err != nil {
		return nil, err
	}
	s := &Splits{task: task, cfg: cfg, held: make(map[string]struct{}, cfg.Val+cfg.Test), ctx: ctx}
	defer func() { s.ctx = nil }()
	var err error
	if s.Val, err = s.draw("val", cfg.Val, cfg.MinLen, cfg.MaxLen, streamVal); err != nil {
		return nil, err
	}
	lo, hi := cfg.MinLen, cfg.MaxLen
	if cfg.TestLen > 0 {
		lo, hi = cfg.TestLen, cfg.TestLen
	}
	if s.Test, err = s.draw("test", cfg.Test, lo, hi, streamTest); err != nil {
		return nil, err
	}
	if err := s.probe(); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d|%d|%+v", task.Name(), task.InVocab().Size(), task.OutVocab().Size(), cfg)
	var key []byte
	for _, ex := range append(s.Val[:len(s.Val):len(s.Val)], s.Test...) {
		key = appendKey(key[:0], ex.Input)
		h.Write(key)
	}
	s.fingerprint = h.Sum64()
	return s, nil
}

// draw collects want distinct examples not yet held, adding them to held.
func (s *Splits) draw(set string, want, lo, hi int, stream uint64) ([]Example, error) {
	rng := rand.New(rand.NewPCG(s.cfg.Seed, stream))
	exs := make([]Example, 0, want)
	var key []byte
	limit := 50*want + 10000
	for tries := 0; len(exs) < want; tries++ {
		if err := s.stopped(set, tries); err != nil {
			return nil, err
		}
		if tries == limit {
			return nil, fmt.Errorf("data: %s at lengths [%d,%d]: found %d of %d distinct %s sequences in %d draws: %w",
				s.task.Name(), lo, hi, len(exs), want, set, tries, ErrSpaceTooSmall)
		}
		ex := s.task.Generate(rng, lo+rng.IntN(hi-lo+1))
		key = appendKey(key[:0], ex.Input)
		if _, dup := s.held[string(key)]; dup {
			continue
		}
		s.held[string(key)] = struct{}{}
		exs = append(exs, ex)
	}
	return exs, nil
}

// probe samples the training distribution and fails if the held-out sets
// cover so much of it that training would be mostly rejections.
func (s *Splits) probe() error {
	if len(s.held) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(s.cfg.Seed, streamProbe))
	var ex Example
	var key []byte
	hits := 0
	for i := range probeDraws {
		if err := s.stopped("probe", i); err != nil {
			return err
		}
		generateInto(s.task, rng, s.cfg.MinLen+rng.IntN(s.cfg.MaxLen-s.cfg.MinLen+1), &ex)
		key = appendKey(key[:0], ex.Input)
		if _, ok := s.held[string(key)]; ok {
			hits++
		}
	}
	if float64(hits) > maxHeldOutFrac*probeDraws {
		return fmt.Errorf("data: %s at lengths [%d,%d]: val and test hold %d of %d sampled training sequences, leaving too little to train on: %w",
			s.task.Name(), s.cfg.MinLen, s.cfg.MaxLen, hits, probeDraws, ErrSpaceTooSmall)
	}
	return nil
}

// Task returns the task the splits were drawn for.
func (s *Splits) Task() Task { return s.task }

// Config returns the configuration the splits were drawn with.
func (s *Splits) Config() SplitConfig { return s.cfg }

// HeldOut reports whether input is the input of a validation or test example.
func (s *Splits) HeldOut(input []int) bool {
	_, ok := s.held[string(appendKey(nil, input))]
	return ok
}

// Train returns an endless training stream with its own generator, seeded
// by seed: lengths uniform in [MinLen, MaxLen], every held-out input
// rejected.
func (s *Splits) Train(seed uint64) Source {
	pcg := rand.NewPCG(seed, streamTrain)
	return &genSource{splits: s, pcg: pcg, rng: rand.New(pcg)}
}

// appendKey appends an injective byte encoding of ids to dst; it is the map
// key for "this input sequence".
func appendKey(dst []byte, ids []int) []byte {
	for _, id := range ids {
		dst = binary.AppendVarint(dst, int64(id))
	}
	return dst
}
