package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/renameio/v2"
	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
	"github.com/qkv-dev/qkv/optim"
)

// FormatVersion is the checkpoint format this code writes and reads.
const FormatVersion = 1

// Files of a checkpoint directory. The manifest is written last and lists
// the SHA-256 of every other file.
const (
	fileConfig    = "config.json"
	fileVocab     = "vocab.json"
	fileModel     = "model.safetensors"
	fileOptimizer = "optimizer.safetensors"
	fileState     = "state.json"
	fileManifest  = "manifest.json"
	fileBest      = "best.json"
	stepPrefix    = "step-"
	tmpPrefix     = ".tmp-"
)

var checkpointFiles = []string{fileConfig, fileVocab, fileModel, fileOptimizer, fileState}

// ErrNoCheckpoint reports a run directory without any loadable checkpoint.
var ErrNoCheckpoint = errors.New("no loadable checkpoint")

type manifest struct {
	Format int                      `json:"format"`
	Files  map[string]manifestEntry `json:"files"`
}

type manifestEntry struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Vocabularies as saved with a model.
type savedVocab struct {
	Kind data.Kind `json:"kind"`
	In   []string  `json:"in"`
	Out  []string  `json:"out"`
}

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

// Checkpoint is a loaded, verified checkpoint.
type Checkpoint struct {
	Dir    string
	Config Config
	Vocab  savedVocab
	Model  *Model
	Optim  optim.State
	State  state
}

// stepDir names the checkpoint of a step.
func stepDir(step int) string { return fmt.Sprintf("%s%08d", stepPrefix, step) }

// saveCheckpoint writes a checkpoint of step into run directory dir
// atomically: every file goes into a fresh temporary directory and is
// fsynced, the manifest last; the directory is fsynced, renamed into place
// and its parent fsynced. A crash at any moment leaves either no
// checkpoint of this step or a complete one.
func saveCheckpoint(dir string, cfg Config, vocab savedVocab, m *Model, opt optim.State, st state) (string, error) {
	final := filepath.Join(dir, stepDir(st.Step))
	if _, err := os.Stat(final); err == nil {
		if _, err := verify(final); err == nil {
			return final, nil // already saved: same step, same content
		}
		if err := removeDir(final); err != nil {
			return "", err
		}
	}
	tmp, err := os.MkdirTemp(dir, tmpPrefix+stepDir(st.Step)+"-")
	if err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	files, err := encodeCheckpoint(cfg, vocab, m, opt, st)
	if err != nil {
		return "", err
	}
	man := manifest{Format: FormatVersion, Files: make(map[string]manifestEntry)}
	for _, name := range checkpointFiles {
		b := files[name]
		if err := writeSynced(filepath.Join(tmp, name), b); err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		man.Files[name] = manifestEntry{Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeSynced(filepath.Join(tmp, fileManifest), mb); err != nil {
		return "", err
	}
	if err := syncDir(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	return final, syncDir(dir)
}

func encodeCheckpoint(cfg Config, vocab savedVocab, m *Model, opt optim.State, st state) (map[string][]byte, error) {
	files := make(map[string][]byte)
	files[fileConfig] = cfg.JSON()
	var err error
	if files[fileVocab], err = json.MarshalIndent(vocab, "", "  "); err != nil {
		return nil, fmt.Errorf("train: checkpoint: vocabulary: %w", err)
	}
	meta := map[string]string{"qkv_format": strconv.Itoa(FormatVersion), "step": strconv.Itoa(st.Step)}
	if files[fileModel], err = nn.EncodeSafetensors(nn.ParamTensors(m.Params()), meta, tensor.Dtype{}); err != nil {
		return nil, fmt.Errorf("train: checkpoint: weights: %w", err)
	}
	moments := make(map[string]*tensor.Dense, 2*len(opt.M))
	for name, t := range opt.M {
		moments["m."+name] = t
	}
	for name, t := range opt.V {
		moments["v."+name] = t
	}
	meta["optimizer_step"] = strconv.FormatInt(opt.Step, 10)
	if files[fileOptimizer], err = nn.EncodeSafetensors(moments, meta, tensor.Dtype{}); err != nil {
		return nil, fmt.Errorf("train: checkpoint: optimizer: %w", err)
	}
	st.OptimStep = opt.Step
	if files[fileState], err = json.MarshalIndent(st, "", "  "); err != nil {
		return nil, fmt.Errorf("train: checkpoint: state: %w", err)
	}
	return files, nil
}

// writeSynced writes a new file and fsyncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory so that renames and creations in it persist.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("train: checkpoint: sync %s: %w", dir, err)
	}
	return nil
}

// removeDir deletes a checkpoint by renaming it out of sight first, so a
// crash mid-way never leaves a half-deleted directory under a step name.
func removeDir(path string) error {
	trash := filepath.Join(filepath.Dir(path), tmpPrefix+"trash-"+filepath.Base(path))
	if err := os.Rename(path, trash); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return os.RemoveAll(trash)
}

// verify checks a checkpoint directory against its manifest and returns the
// verified contents of its files.
func verify(dir string) (map[string][]byte, error) {
	mb, err := os.ReadFile(filepath.Join(dir, fileManifest))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, fileManifest), unwrapPath(err))
	}
	var man manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&man); err != nil {
		return nil, fmt.Errorf("%s: malformed manifest: %v", filepath.Join(dir, fileManifest), err)
	}
	if man.Format != FormatVersion {
		return nil, fmt.Errorf("%s: unknown format version %d (this program reads %d)", filepath.Join(dir, fileManifest), man.Format, FormatVersion)
	}
	files := make(map[string][]byte, len(checkpointFiles))
	for _, name := range checkpointFiles {
		path := filepath.Join(dir, name)
		e, ok := man.Files[name]
		if !ok {
			return nil, fmt.Errorf("%s: not listed in the manifest", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
		}
		if int64(len(b)) != e.Size {
			return nil, fmt.Errorf("%s: %d bytes, manifest says %d (truncated or changed)", path, len(b), e.Size)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != e.SHA256 {
			return nil, fmt.Errorf("%s: SHA-256 does not match the manifest (corrupted)", path)
		}
		files[name] = b
	}
	return files, nil
}

// unwrapPath drops the path from an *fs.PathError, which the caller names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// LoadCheckpoint verifies and decodes one checkpoint directory, rebuilding
// its model from the saved config and checking every tensor's name and
// shape against it.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	files, err := verify(dir)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Dir: dir}
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := DecodeConfig(bytes.NewReader(files[fileConfig]), &ck.Config); err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileConfig), err)
	}
	if err := ck.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileConfig), err)
	}
	if err := json.Unmarshal(files[fileVocab], &ck.Vocab); err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileVocab), err)
	}
	in, err := data.VocabFromTokens(ck.Vocab.In)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileVocab), err)
	}
	out, err := data.VocabFromTokens(ck.Vocab.Out)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileVocab), err)
	}
	dec := json.NewDecoder(bytes.NewReader(files[fileState]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ck.State); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileState), err)
	}
	if err := ck.State.validate(ck.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileState), err)
	}
	mc, err := ck.Config.modelConfig(ck.Vocab.Kind, in.Size(), out.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileConfig), err)
	}
	weights, _, err := nn.DecodeSafetensors(files[fileModel])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileModel), err)
	}
	// Sizes the weights cannot hold would have NewModel allocate without
	// bound (a config.json that disagrees with them, its hash notwithstanding).
	held := 0
	for _, t := range weights {
		held += t.Shape().TotalSize()
	}
	if need := minParams(mc); need > float64(held) {
		return nil, fmt.Errorf("%s: d_model %d, d_ff %d, %d layers and %d input tokens need at least %.4g weights; %s holds %d",
			path(fileConfig), mc.DModel, mc.DFF, mc.Layers, mc.InVocab, need, fileModel, held)
	}
	// The initial values are overwritten by the saved weights.
	if ck.Model, err = NewModel(mc, rand.New(rand.NewPCG(0, 0))); err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileConfig), err)
	}
	if err := nn.LoadTensors(weights, ck.Model.Params()); err != nil {
		return nil, fmt.Errorf("%s: %v (does it match config.json?)", path(fileModel), err)
	}
	if ck.Optim, err = decodeOptimizer(files[fileOptimizer], ck.Model, ck.State.OptimStep); err != nil {
		return nil, fmt.Errorf("%s: %v", path(fileOptimizer), err)
	}
	return ck, nil
}

// minParams is a lower bound of a model's parameter count, in float64 so
// that absurd sizes cannot overflow: the embedding, any learned positions,
// and per layer one D×D attention projection and one D×F feed-forward matrix.
func minParams(mc ModelConfig) float64 {
	d := float64(mc.DModel)
	n := float64(mc.InVocab)*d + float64(mc.Layers)*(d*d+d*float64(mc.DFF))
	if mc.Positional == layers.Learned {
		n += float64(mc.MaxLen) * d
	}
	return n
}

func decodeOptimizer(b []byte, m *Model, step int64) (optim.State, error) {
	ts, _, err := nn.DecodeSafetensors(b)
	if err != nil {
		return optim.State{}, err
	}
	s := optim.State{Step: step, M: map[string]*tensor.Dense{}, V: map[string]*tensor.Dense{}}
	for name, t := range ts {
		dst := s.M
		rest, ok := strings.CutPrefix(name, "m.")
		if !ok {
			if rest, ok = strings.CutPrefix(name, "v."); !ok {
				return s, fmt.Errorf("unexpected tensor %q", name)
			}
			dst = s.V
		}
		dst[rest] = t
	}
	// Moments come back as float64; give each its parameter's dtype.
	for _, p := range m.Params() {
		for _, ts := range []map[string]*tensor.Dense{s.M, s.V} {
			if t, ok := ts[p.Name()]; ok && t.Dtype() != p.Dtype() {
				c := tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(t.Shape()...))
				nn.FromFloat64s(c, nn.ToFloat64s(t))
				ts[p.Name()] = c
			}
		}
	}
	opt, err := optim.NewAdam(optim.DefaultAdam())
	if err != nil {
		return s, err
	}
	if err := opt.SetState(s, m.Params()); err != nil {
		return s, err
	}
	return s, nil
}

// HoldsRun reports whether dir holds a run's checkpoints.
func HoldsRun(dir string) bool {
	steps, err := listCheckpoints(dir)
	return err == nil && len(steps) > 0
}

// listCheckpoints returns the steps of the checkpoint directories in dir,
// newest first.
func listCheckpoints(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), stepPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			steps = append(steps, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(steps)))
	return steps, nil
}

// Which checkpoint of a run directory to load.
const (
	Latest = "latest"
	Best   = "best"
)

// OpenRun loads a checkpoint from a run directory: the newest that
// verifies (Latest) or the best by validation metrics (Best). A damaged
// checkpoint is skipped for the next newest; each skip is reported through
// warn. dir may also be a checkpoint directory itself.
func OpenRun(dir, which string, warn func(string)) (*Checkpoint, error) {
	if which != Latest && which != Best {
		return nil, fmt.Errorf("train: unknown checkpoint choice %q (want latest or best)", which)
	}
	if _, err := os.Stat(filepath.Join(dir, fileManifest)); err == nil {
		return LoadCheckpoint(dir)
	}
	steps, err := listCheckpoints(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", dir, unwrapPath(err))
	}
	if which == Best {
		if b, err := readBest(dir); err == nil {
			ck, err := LoadCheckpoint(filepath.Join(dir, stepDir(b.Step)))
			if err == nil {
				return ck, nil
			}
			warn(fmt.Sprintf("best checkpoint is damaged: %v; using the newest good one", err))
		} else if !errors.Is(err, fs.ErrNotExist) {
			warn(fmt.Sprintf("%v; using the newest good checkpoint", err))
		}
	}
	var lastErr error
	for i, step := range steps {
		ck, err := LoadCheckpoint(filepath.Join(dir, stepDir(step)))
		if err == nil {
			if i > 0 {
				warn(fmt.Sprintf("falling back to %s", ck.Dir))
			}
			return ck, nil
		}
		warn(fmt.Sprintf("skipping damaged checkpoint: %v", err))
		lastErr = err
	}
	if lastErr != nil {
		return nil, fmt.Errorf("train: %s: %w (last error: %v)", dir, ErrNoCheckpoint, lastErr)
	}
	return nil, fmt.Errorf("train: %s: %w", dir, ErrNoCheckpoint)
}

func readBest(dir string) (*best, error) {
	path := filepath.Join(dir, fileBest)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var bs best
	if err := json.Unmarshal(b, &bs); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &bs, nil
}

func writeBest(dir string, b *best) error {
	j, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(filepath.Join(dir, fileBest), append(j, '\n'), 0o644); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return syncDir(dir)
}

// prune deletes all but the newest keep checkpoints, sparing the best, and
// clears temporary directories left by an interrupted save.
func prune(dir string, keep int, bestStep int) error {
	steps, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	for i, step := range steps {
		if i < keep || step == bestStep {
			continue
		}
		if err := removeDir(filepath.Join(dir, stepDir(step))); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) && e.IsDir() {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}
