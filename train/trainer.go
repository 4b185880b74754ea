package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/nn"
	"github.com/qkv-dev/qkv/optim"
)

// Trainer owns one training run: data, model, graphs, optimizer, random
// generators and the run directory.
type Trainer struct {
	ctx      context.Context // NewContext's or ResumeContext's: InitFrom reads under it
	stop     func() error    // checked by the evaluators between batches (Run's ctx)
	evalHook func()          // tests: called before each evaluation batch
	cfg      Config
	ds       *Dataset
	vocab    Vocab
	model    *Model
	graphs   map[int]*lengthGraph // training graphs by padded length
	drawn    []data.Example       // the examples of the next batch
	eval     *Evaluator
	opt      *optim.Adam
	sched    optim.Schedule
	dropPCG  *rand.PCG
	dropRNG  *rand.Rand
	scratch  []float64
	buf      *nn.Buffers // op outputs of the training graphs and eval's
	dir      string
	lock     *runLock
	fs       fileOps // osFiles; a test's wrapper to crash a save
	saved    string  // the newest checkpoint, once there is one
	heldOut  []byte  // a file run's held-out record, written at its start
	st       state
	metrics  *os.File
	probes   *probeRecorder // nil until setup, and for a model it cannot record
	progress Progress       // what a person watching sees; see SetProgress
}

// New starts a fresh run of cfg in cfg.RunDir(), which is created if
// needed and locked (ErrRunInUse if another process holds it) until Run
// returns or Close is called. The directory must be new or empty: one that
// holds a run, even one that stopped before its first checkpoint, is
// ErrHoldsRun (resume it, or choose another Out); one that holds anything
// else is ErrNotRunDir, so that a run never writes over a user's files.
func New(cfg Config) (*Trainer, error) {
	return NewContext(context.Background(), cfg)
}

// NewContext is New stopped by ctx: reading the data (a FIFO that no one
// writes, a large file) and generating held-out sets stop soon after ctx
// is done, returning an error that wraps its cause, and nothing is left in
// the run directory. InitFrom reads its file under the same ctx.
func NewContext(ctx context.Context, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Nothing is written before the data and the model are known good.
	t, err := newTrainer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	dir := cfg.RunDir()
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	if err := checkFresh(dir); err != nil {
		lock.release()
		return nil, err
	}
	lock.marked = true
	if err := writeDurable(filepath.Join(dir, fileRun), runMarkerBytes()); err != nil {
		lock.release()
		return nil, err
	}
	t.lock = lock
	if t.ds.Files != nil {
		var sum string
		if t.heldOut, sum, err = encodeHeldOut(t.ds); err != nil {
			lock.release()
			return nil, err
		}
		t.st.HeldOut = sum
	}
	return t, nil
}

// newTrainer builds a run of cfg from scratch: data, initialised model,
// optimizer and generators.
func newTrainer(ctx context.Context, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ds, err := newDataset(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.resolve(ds)
	mc := cfg.modelConfig(ds.Kind, ds.In.Size(), ds.Out.Size())
	if err := checkTrainingMemory(mc, cfg.Batch, cfg.Data != ""); err != nil {
		return nil, err
	}
	model, err := newModelContext(ctx, mc, rand.New(rand.NewPCG(cfg.Seed, seedFor(cfg.Seed, streamInit))))
	if err != nil {
		return nil, err
	}
	t := &Trainer{ctx: ctx, cfg: cfg, ds: ds, model: model, dir: cfg.RunDir(), fs: osFiles{}}
	t.vocab = Vocab{Kind: ds.Kind, In: ds.In.Tokens(), Out: ds.Out.Tokens()}
	t.dropPCG = rand.NewPCG(cfg.Seed, seedFor(cfg.Seed, streamDropout))
	if t.opt, err = optim.NewAdam(cfg.adam()); err != nil {
		return nil, err
	}
	return t, nil
}

// Config returns the run's resolved configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Model returns the model being trained.
func (t *Trainer) Model() *Model { return t.model }

// Dir returns the run directory.
func (t *Trainer) Dir() string { return t.dir }

// Step returns the number of steps done.
func (t *Trainer) Step() int { return t.st.Step }

// InitFrom replaces the initial weights of a fresh run with those in the
// safetensors file at path, matched by name; a missing, extra or
// differently shaped tensor is an error and changes nothing. The
// vocabularies saved beside the file (vocab.json, as in a checkpoint
// directory) must be the run's, and a file without them is refused: the
// same shapes over other tokens would load silently and start the run from
// weights that mean something else.
func (t *Trainer) InitFrom(path string) error {
	ctx := t.ctx
	if ctx == nil { // a Trainer of Fit's
		ctx = context.Background()
	}
	// The model's weights in float64, and room for the header: anything
	// larger (a -init-from /dev/zero, which never ends) is not this model's.
	limit := int64(t.model.NumParams())*8 + 1<<20
	b, err := data.ReadFileContext(ctx, path, limit)
	if errors.Is(err, data.ErrTooLarge) {
		return fmt.Errorf("%s: larger than the %d bytes this model's weights take, even in float64", path, limit)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: reading stopped: %w", path, err)
		}
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	vb, err := readRegular(filepath.Join(filepath.Dir(path), fileVocab))
	if errors.Is(err, fs.ErrNotExist) {
		// Weights without their vocabulary would be taken whatever tokens
		// they were trained on, as long as the shapes fit.
		return fmt.Errorf("%s: no %s beside it, so the tokens its weights were trained on cannot be checked against this run's (give the model.safetensors inside a checkpoint directory, or put that checkpoint's %s beside it)", path, fileVocab, fileVocab)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(filepath.Dir(path), fileVocab), unwrapPath(err))
	}
	{
		var v Vocab
		if err := json.Unmarshal(vb, &v); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(filepath.Dir(path), fileVocab), err)
		}
		if !equalTokens(v, t.vocab) {
			return fmt.Errorf("%s: its checkpoint's vocabulary (%s) differs from this run's: the weights would mean other tokens", path, filepath.Join(filepath.Dir(path), fileVocab))
		}
	}
	ts, _, err := nn.DecodeSafetensors(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := nn.LoadTensors(ts, t.model.Params()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Close releases the run directory of a trainer whose Run was never
// called; Run releases it itself.
func (t *Trainer) Close() { t.lock.release() }

// Notes returns what a user should hear about the run's data: held-out
// sizes, inputs shared with training, unknown tokens.
func (t *Trainer) Notes() []string { return t.ds.Notes }

// newModelContext is NewModel stopped by ctx. Drawing a large model's
// initial weights takes seconds (38 M parameters: about 3 s on a loaded
// machine) in one piece that looks at nothing, so it runs on a goroutine
// of its own; if ctx is done first, its model is left to the collector
// (it shares nothing: the generator is the caller's and used by nothing
// else) and ctx's cause is returned.
func newModelContext(ctx context.Context, mc ModelConfig, rng *rand.Rand) (*Model, error) {
	if ctx.Done() == nil {
		return NewModel(mc, rng)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("train: initialising the model: stopped: %w", context.Cause(ctx))
	}
	type built struct {
		m   *Model
		err error
	}
	ch := make(chan built, 1)
	go func() {
		m, err := NewModel(mc, rng)
		ch <- built{m, err}
	}()
	select {
	case b := <-ch:
		return b.m, b.err
	case <-ctx.Done():
		return nil, fmt.Errorf("train: initialising the model: stopped: %w", context.Cause(ctx))
	}
}
