package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

const bucketMagic = "qkv-bkt1"

// streamBuckets seeds the order of the batches of a window ("qkv-bkt").
const streamBuckets uint64 = 0x716b762d626b7400

// bucketSource serves a list source's examples so that every run of batch
// consecutive examples has similar lengths: it draws a window of
// batch·windowBatches examples, sorts it by length, cuts it into batches
// and serves those in a seeded random order. A batch then pays for its own
// longest example, not the file's: one long line slows only the batches
// it is in.
type bucketSource struct {
	inner  *listSource
	batch  int
	seed   uint64
	window []Example // the current window, in serving order
	pos    int       // next index into window
	start  []byte    // inner's state before the window was drawn
	drawn  int64
}

// windowBatches is how many batches one window sorts together: more makes
// batches more uniform in length and their order less random.
const windowBatches = 16

var _ Source = (*bucketSource)(nil)

// NewBucketSource returns a Source over examples, in seeded shuffles as
// NewListSource, in which every aligned run of batch examples holds
// examples of similar length. Draw it batch examples at a time.
func NewBucketSource(examples []Example, seed uint64, batch int) (Source, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("data: bucket source: batch %d must be positive", batch)
	}
	inner := NewListSource(examples, seed).(*listSource)
	s := &bucketSource{inner: inner, batch: batch, seed: seed}
	s.fill()
	return s, nil
}

// fill draws the next window from inner and orders it.
func (s *bucketSource) fill() {
	s.start, _ = s.inner.MarshalBinary() // never fails
	index := uint64(s.inner.Drawn()) / uint64(s.batch*windowBatches)
	n := s.batch * windowBatches
	if cap(s.window) < n {
		s.window = make([]Example, n)
	}
	s.window = s.window[:n]
	for i := range s.window {
		s.inner.NextInto(&s.window[i])
	}
	slices.SortStableFunc(s.window, func(a, b Example) int { return len(a.Input) - len(b.Input) })
	rng := rand.New(rand.NewPCG(s.seed^index, streamBuckets))
	rng.Shuffle(windowBatches, func(i, j int) {
		bi, bj := s.window[i*s.batch:(i+1)*s.batch], s.window[j*s.batch:(j+1)*s.batch]
		for k := range bi {
			bi[k], bj[k] = bj[k], bi[k]
		}
	})
	s.pos = 0
}

func (s *bucketSource) Next() Example {
	var ex Example
	s.NextInto(&ex)
	return ex
}

// NextInto copies the next example into ex, reusing its slices.
func (s *bucketSource) NextInto(ex *Example) {
	if s.pos == len(s.window) {
		s.fill()
	}
	src := s.window[s.pos]
	ex.Input = append(ex.Input[:0], src.Input...)
	ex.Target = append(ex.Target[:0], src.Target...)
	s.pos++
	s.drawn++
}

func (s *bucketSource) Drawn() int64 { return s.drawn }

// MarshalBinary saves the inner source's state at the window's start and
// the position in the window: restoring redraws the window.
func (s *bucketSource) MarshalBinary() ([]byte, error) {
	b := append([]byte(bucketMagic), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint64(b[len(bucketMagic):], uint64(s.pos))
	b = binary.BigEndian.AppendUint64(b, uint64(s.drawn))
	return append(b, s.start...), nil
}

func (s *bucketSource) UnmarshalBinary(b []byte) error {
	if len(b) < len(bucketMagic)+16 || string(b[:len(bucketMagic)]) != bucketMagic {
		return errors.New("data: source state: not a " + bucketMagic + " state")
	}
	b = b[len(bucketMagic):]
	pos, drawn := binary.BigEndian.Uint64(b), int64(binary.BigEndian.Uint64(b[8:]))
	if pos > uint64(s.batch*windowBatches) || drawn < 0 {
		return fmt.Errorf("data: source state: position %d, drawn %d out of range", pos, drawn)
	}
	if err := s.inner.UnmarshalBinary(b[16:]); err != nil {
		return err
	}
	s.fill()
	s.pos, s.drawn = int(pos), drawn
	return nil
}
