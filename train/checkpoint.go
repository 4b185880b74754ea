package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
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

type manifest struct {
	Format int                      `json:"format"`
	Files  map[string]manifestEntry `json:"files"`
}

type manifestEntry struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Vocab is a model's vocabularies as saved with it: the token strings of
// its input and output ids, in id order.
type Vocab struct {
	Kind data.Kind `json:"kind"` // tagging or classification
	In   []string  `json:"in"`   // input tokens by id
	Out  []string  `json:"out"`  // output tokens by id
}

// Checkpoint is a loaded, verified checkpoint.
type Checkpoint struct {
	Dir    string      // the checkpoint's directory, step-NNNNNNNN
	Config Config      // the run's resolved config
	Vocab  Vocab       // the tokens of the model's ids
	Model  *Model      // the model, with the saved weights
	Optim  optim.State // AdamW's moments and step, by parameter name
	state  state
}

// Step returns the number of training steps the checkpoint had done.
func (ck *Checkpoint) Step() int { return ck.state.Step }

// saveCheckpoint writes a checkpoint of step into run directory dir
// atomically: every file goes into a temporary directory and is fsynced,
// the manifest last; the directory is fsynced, renamed into place and its
// parent fsynced. A crash at any moment leaves either no checkpoint of this
// step or a complete one; TestSaveCrashAtEveryOperation stops a save after
// each of its file operations in turn to check it.
func saveCheckpoint(fsys fileOps, dir string, cfg Config, vocab Vocab, m *Model, opt optim.State, st state) (string, error) {
	files, err := encodeCheckpoint(cfg, vocab, m, opt, st)
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, stepDir(st.Step))
	if _, err := fsys.Stat(final); err == nil {
		if old, err := verify(fsys, final); err == nil && sameFiles(old, files) {
			return final, nil // already saved: same step, same content
		}
		// A damaged checkpoint, or one of a run that went another way
		// from an earlier checkpoint (a resume past a damaged newest).
		if err := removeDir(fsys, final); err != nil {
			return "", err
		}
	}
	// A name of its own for each save, so that what an interrupted one
	// left (pruned by the next save) is told apart from the save under way.
	tmp := filepath.Join(dir, tmpPrefix+stepDir(st.Step)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := fsys.Mkdir(tmp); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	defer fsys.RemoveAll(tmp) // a no-op after the rename
	man := manifest{Format: FormatVersion, Files: make(map[string]manifestEntry)}
	for _, name := range checkpointFiles {
		b := files[name]
		if err := fsys.WriteFile(filepath.Join(tmp, name), b); err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		man.Files[name] = manifestEntry{Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return "", err
	}
	if err := fsys.WriteFile(filepath.Join(tmp, fileManifest), mb); err != nil {
		return "", err
	}
	if err := fsys.SyncDir(tmp); err != nil {
		return "", err
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	return final, fsys.SyncDir(dir)
}

// sameFiles reports whether two checkpoints' files are byte for byte the
// same.
func sameFiles(a, b map[string][]byte) bool {
	for _, name := range checkpointFiles {
		if !bytes.Equal(a[name], b[name]) {
			return false
		}
	}
	return true
}

func encodeCheckpoint(cfg Config, vocab Vocab, m *Model, opt optim.State, st state) (map[string][]byte, error) {
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

// verify checks a checkpoint directory against its manifest and returns the
// verified contents of its files.
func verify(fsys fileOps, dir string) (map[string][]byte, error) {
	mb, err := fsys.ReadFile(filepath.Join(dir, fileManifest))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, fileManifest), unwrapPath(err))
	}
	var man manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&man); err != nil {
		return nil, fmt.Errorf("%s: malformed manifest: %w", filepath.Join(dir, fileManifest), err)
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
		b, err := fsys.ReadFile(path)
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
func LoadCheckpoint(dir string) (*Checkpoint, error) { return loadCheckpoint(osFiles{}, dir) }

func loadCheckpoint(fsys fileOps, dir string) (*Checkpoint, error) {
	files, err := verify(fsys, dir)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Dir: dir}
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := DecodeConfig(bytes.NewReader(files[fileConfig]), &ck.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileConfig), err)
	}
	if err := ck.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileConfig), err)
	}
	if err := json.Unmarshal(files[fileVocab], &ck.Vocab); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileVocab), err)
	}
	in, err := data.VocabFromTokens(ck.Vocab.In)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileVocab), err)
	}
	out, err := data.VocabFromTokens(ck.Vocab.Out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileVocab), err)
	}
	dec := json.NewDecoder(bytes.NewReader(files[fileState]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ck.state); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileState), err)
	}
	if err := ck.state.validate(ck.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileState), err)
	}
	mc := ck.Config.modelConfig(ck.Vocab.Kind, in.Size(), out.Size())
	weights, _, err := nn.DecodeSafetensors(files[fileModel])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileModel), err)
	}
	// Sizes the weights cannot hold would have NewModel allocate without
	// bound (a config.json that disagrees with them, its hash
	// notwithstanding). A smaller disagreement is left to LoadTensors,
	// which names the tensor that differs.
	held := 0
	for _, t := range weights {
		held += t.Shape().TotalSize()
	}
	if need := paramCount(mc); need > 4*int64(held)+1<<20 {
		return nil, fmt.Errorf("%s: %s and %d input tokens need %d weights; %s holds %d",
			path(fileConfig), mc.Architecture.describe(), mc.InVocab, need, fileModel, held)
	}
	// The initial values are overwritten by the saved weights.
	if ck.Model, err = NewModel(mc, rand.New(rand.NewPCG(0, 0))); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileConfig), err)
	}
	if err := nn.LoadTensors(weights, ck.Model.Params()); err != nil {
		return nil, fmt.Errorf("%s: %w (does it match config.json?)", path(fileModel), err)
	}
	if ck.Optim, err = decodeOptimizer(files[fileOptimizer], ck.Model, ck.state.OptimStep); err != nil {
		return nil, fmt.Errorf("%s: %w", path(fileOptimizer), err)
	}
	return ck, nil
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
	// Adam.SetState is the one check of moments against parameters (every
	// name present, every shape equal). A throwaway Adam runs it here so
	// that a damaged optimizer file fails LoadCheckpoint, and OpenRun falls
	// back past it, even for a caller such as cmd/eval that never resumes.
	opt, err := optim.NewAdam(optim.DefaultAdam())
	if err != nil {
		return s, err
	}
	if err := opt.SetState(s, m.Params()); err != nil {
		return s, err
	}
	return s, nil
}
