package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/qkv-dev/qkv/data"
)

// ProbesFile is the file in a run directory that records, at every
// validation, how a few fixed held-out examples (the probe set) are
// attended to: the history the explorer's training slider moves through.
// It lives beside the checkpoints, not in one, so pruning them keeps it.
//
// The file is one JSON line, ProbeHeader, then fixed-size binary records,
// one per validation, in step order:
//
//	uint32 step, float32 validation loss, token accuracy, sequence accuracy (little-endian)
//	for each probe example e, layer l, head h, query q < t_e, key k < t_e:
//	    uint8 round(255·w), w the weight of q on k
//
// A torn last record (a kill mid-write) is ignored on reading and cut off
// when the run resumes, as is every record after the resumed step, so a
// resumed run's file equals an uninterrupted run's byte for byte.
const ProbesFile = "probes.bin"

// probeCount is the size of the probe set: enough to compare, small enough
// that a run's history stays far under a megabyte.
const probeCount = 4

// probeStream separates the probe set's generator from every other drawn
// from the run's seed.
const probeStream = 0x70726f6265 // "probe"

// ProbeFormat is ProbeHeader.Format in every probes file.
const ProbeFormat = "qkv-probes"

// The kinds of weights a probes file holds.
const (
	ProbeAttention = "attention" // a transformer's attention weights, [layer][head][query][key]
	ProbeSaliency  = "saliency"  // an LSTM's gradient saliency (GradientProbe.Saliency), one layer of one head
)

// ProbeHeader describes a probes file's records.
type ProbeHeader struct {
	Format   string         `json:"format"`   // ProbeFormat
	Version  int            `json:"version"`  // of the format; 1
	Kind     string         `json:"kind"`     // ProbeAttention or ProbeSaliency
	Layers   int            `json:"layers"`   // layers recorded
	Heads    int            `json:"heads"`    // heads per layer
	Examples []ProbeExample `json:"examples"` // the probe set, recorded in this order
}

// ProbeExample is one example of the probe set, as vocabulary ids.
type ProbeExample struct {
	Input  []int `json:"input"`  // input ids
	Target []int `json:"target"` // target ids
}

// RecordSize is the size in bytes of one record after the header.
func (h ProbeHeader) RecordSize() int {
	n := 16
	for _, ex := range h.Examples {
		n += h.Layers * h.Heads * len(ex.Input) * len(ex.Input)
	}
	return n
}

// ProbeRecord is the probe set's weights at one validation.
type ProbeRecord struct {
	Step                                  int     // the training step of the validation
	Loss, TokenAccuracy, SequenceAccuracy float32 // validation metrics at Step
	// Weights holds the quantised weights in the file's order: example,
	// layer, head, query, key; a byte b is the weight b/255.
	Weights []byte
}

// ProbeHistory is a run's probes file read back.
type ProbeHistory struct {
	Header  ProbeHeader   // what the records hold
	Records []ProbeRecord // one per validation, in step order
}

// ReadProbes reads dir's probes file. A run made before runs recorded
// probes has none: the error then wraps fs.ErrNotExist.
func ReadProbes(dir string) (*ProbeHistory, error) {
	b, err := os.ReadFile(filepath.Join(dir, ProbesFile))
	if err != nil {
		return nil, fmt.Errorf("train: probes: %w", err)
	}
	h, n, err := parseProbeHeader(b)
	if err != nil {
		return nil, fmt.Errorf("train: probes %s: %w", filepath.Join(dir, ProbesFile), err)
	}
	hist := &ProbeHistory{Header: h}
	size := h.RecordSize()
	for rest := b[n:]; len(rest) >= size; rest = rest[size:] {
		hist.Records = append(hist.Records, decodeProbeRecord(rest[:size]))
	}
	return hist, nil
}

// parseProbeHeader reads the header line at the start of b and returns it
// and its length with the newline.
func parseProbeHeader(b []byte) (ProbeHeader, int, error) {
	var h ProbeHeader
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return h, 0, errors.New("no header line")
	}
	if err := json.Unmarshal(b[:end], &h); err != nil {
		return h, 0, fmt.Errorf("header: %w", err)
	}
	if h.Format != ProbeFormat || h.Version != 1 {
		return h, 0, fmt.Errorf("not a version 1 %s file", ProbeFormat)
	}
	if h.Layers <= 0 || h.Heads <= 0 || len(h.Examples) == 0 {
		return h, 0, errors.New("header describes no weights")
	}
	return h, end + 1, nil
}

func decodeProbeRecord(b []byte) ProbeRecord {
	le := binary.LittleEndian
	return ProbeRecord{
		Step:             int(le.Uint32(b)),
		Loss:             math.Float32frombits(le.Uint32(b[4:])),
		TokenAccuracy:    math.Float32frombits(le.Uint32(b[8:])),
		SequenceAccuracy: math.Float32frombits(le.Uint32(b[12:])),
		Weights:          b[16:],
	}
}

// ChooseProbes picks the probe set of a run: probeCount validation
// examples drawn by seed, in the order drawn.
func ChooseProbes(val []data.Example, seed uint64) []data.Example {
	rng := rand.New(rand.NewPCG(seed, probeStream))
	idx := rng.Perm(len(val))
	out := make([]data.Example, 0, probeCount)
	for _, i := range idx[:min(probeCount, len(idx))] {
		out = append(out, val[i])
	}
	return out
}

// probeRecorder appends a record to the run's probes file at every
// validation.
type probeRecorder struct {
	f      *os.File
	header ProbeHeader
	exs    []data.Example
	sal    *GradientProbe // an LSTM's; nil for a transformer
	buf    []byte
}

// openProbes opens dir's probes file for a run of m at step, keeping the
// records up to step and dropping the rest (a resumed run repeats them), or
// starts it. A model whose weights cannot be recorded (an LSTM classifier:
// GradientProbe needs a tagging model) gets a nil recorder and no file.
func openProbes(dir string, m *Model, val []data.Example, seed uint64, step int) (*probeRecorder, error) {
	cfg := m.Config()
	r := &probeRecorder{exs: ChooseProbes(val, seed)}
	if len(r.exs) == 0 {
		return nil, nil
	}
	r.header = ProbeHeader{Format: ProbeFormat, Version: 1, Kind: ProbeAttention, Layers: cfg.Layers, Heads: cfg.Heads}
	if !m.HasAttention() {
		if cfg.Kind != data.Tagging {
			return nil, nil
		}
		sal, err := NewGradientProbe(m)
		if err != nil {
			return nil, err
		}
		r.sal = sal
		r.header.Kind, r.header.Layers, r.header.Heads = ProbeSaliency, 1, 1
	}
	for _, ex := range r.exs {
		r.header.Examples = append(r.header.Examples, ProbeExample{Input: ex.Input, Target: ex.Target})
	}
	head, err := json.Marshal(r.header)
	if err != nil {
		return nil, r.fail(err)
	}
	head = append(head, '\n')
	kept := slices.Clone(head)
	path := filepath.Join(dir, ProbesFile)
	// A kill mid-replace leaves a temporary file; qkv made it, so it goes.
	stale, _ := filepath.Glob(filepath.Join(dir, "."+ProbesFile+".tmp-*"))
	for _, f := range stale {
		os.Remove(f)
	}
	if old, err := os.ReadFile(path); err == nil && step > 0 && bytes.HasPrefix(old, head) {
		size := r.header.RecordSize()
		for rest := old[len(head):]; len(rest) >= size; rest = rest[size:] {
			if decodeProbeRecord(rest[:size]).Step > step {
				break
			}
			kept = append(kept, rest[:size]...)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, r.fail(err)
	}
	if err := replaceFile(path, kept); err != nil {
		return nil, r.fail(err)
	}
	if r.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, r.fail(err)
	}
	r.buf = make([]byte, 0, r.header.RecordSize())
	return r, nil
}

// replaceFile replaces path with b through a temporary file and a rename,
// so that a killed process leaves the old file or the new, never a torn
// one. Unlike writeDurable it does not fsync: the records appended after
// it are not synced either, so the history is exact across kills (which
// keep the page cache) and best effort across a machine's crash, and a
// run's start waits for no disk.
func replaceFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if err = f.Chmod(0o644); err == nil {
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return nil
}

// fail releases what openProbes made and wraps err.
func (r *probeRecorder) fail(err error) error {
	r.close()
	return fmt.Errorf("train: probes: %w", err)
}

// record appends the probe set's weights after validation at step, which
// gave m, with ev (a transformer) or the saliency probe (an LSTM, whose
// copy of the model is refreshed from model first).
func (r *probeRecorder) record(step int, m Metrics, ev *Evaluator, model *Model) error {
	if r == nil {
		return nil
	}
	le := binary.LittleEndian
	b := r.buf[:0]
	b = le.AppendUint32(b, uint32(step))
	for _, v := range []float64{m.Loss, m.TokenAccuracy, m.SequenceAccuracy} {
		b = le.AppendUint32(b, math.Float32bits(float32(v)))
	}
	if r.sal != nil {
		if err := r.sal.load(model); err != nil {
			return fmt.Errorf("train: probes: %w", err)
		}
	}
	for _, ex := range r.exs {
		var w [][][][]float64
		var err error
		if r.sal != nil {
			w, err = r.sal.Saliency(ex)
		} else {
			w, err = ev.Attention(ex.Input)
		}
		if err != nil {
			return fmt.Errorf("train: probes: step %d: %w", step, err)
		}
		b = appendQuantised(b, w)
	}
	if len(b) != r.header.RecordSize() {
		return fmt.Errorf("train: probes: step %d: record of %d bytes, want %d", step, len(b), r.header.RecordSize())
	}
	r.buf = b
	if _, err := r.f.Write(b); err != nil {
		return fmt.Errorf("train: probes: %w", err)
	}
	return nil
}

// appendQuantised appends w [layer][head][query][key] as bytes
// round(255·w), w clamped to [0, 1].
func appendQuantised(b []byte, w [][][][]float64) []byte {
	for _, heads := range w {
		for _, rows := range heads {
			for _, row := range rows {
				for _, x := range row {
					b = append(b, Quantise(x))
				}
			}
		}
	}
	return b
}

// Quantise is a probes file's byte for a weight x in [0, 1]: round(255·x),
// clamped (NaN gives 0).
func Quantise(x float64) byte {
	switch {
	case !(x > 0):
		return 0
	case x >= 1:
		return 255
	}
	return byte(math.Round(255 * x))
}

// close closes the file and the saliency probe's graphs.
func (r *probeRecorder) close() {
	if r == nil {
		return
	}
	if r.f != nil {
		r.f.Close()
	}
	if r.sal != nil {
		r.sal.Close()
	}
}

// load copies m's weights into the probe's float64 copy of the model.
func (p *GradientProbe) load(m *Model) error {
	src, dst := m.Params(), p.model.Params()
	if len(src) != len(dst) {
		return fmt.Errorf("gradient probe: %d parameters, model has %d", len(dst), len(src))
	}
	for i, q := range src {
		if err := dst[i].SetFloat64s(q.Float64s()); err != nil {
			return fmt.Errorf("gradient probe: %w", err)
		}
	}
	return nil
}
