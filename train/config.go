package train

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/data"
	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/nn"
	"github.com/qkv-dev/qkv/optim"
)

// Config is everything that defines a training run. It is printed at start,
// written to the run directory and saved in every checkpoint.
type Config struct {
	// Data: a generated task, a user's file, or (Fit) examples in memory.
	Task string `json:"task,omitempty"` // a name from data.TaskNames
	Data string `json:"data,omitempty"` // a TSV training file instead of a task
	// Examples is the SHA-256 of the training examples a Fit run was
	// given in memory; such a run resumes through Fit alone.
	Examples string `json:"examples,omitempty"`
	Val      string `json:"val,omitempty"`  // a TSV validation file; default: hold out a share of Data
	Test     string `json:"test,omitempty"` // a TSV test file; default: hold out a share of Data
	Symbols  int    `json:"vocab"`          // content symbols of a generated task
	MinLen   int    `json:"min_len"`        // shortest generated sequence
	// Len is the longest sequence the model takes. For a data file, 0 means
	// the longest line of the data, validation and test files; a run
	// records the resolved value.
	Len          int `json:"len"`
	ValExamples  int `json:"val_examples"`  // generated validation examples
	TestExamples int `json:"test_examples"` // generated test examples

	// Model: which backbone and its settings (see Architecture), embedded
	// so that its keys are top-level keys here.
	Architecture

	Optimization
	Bookkeeping
	Out string `json:"out"` // run directory; default checkpoints/<task>
}

// Optimization is how a run trains: batches, steps, AdamW and its
// learning-rate schedule, and the seed of every random generator. Config
// and FitOptions embed it.
type Optimization struct {
	Batch       int     `json:"batch"`        // examples per step
	Steps       int     `json:"steps"`        // optimizer steps of the whole run
	LR          float64 `json:"lr"`           // peak learning rate
	MinLR       float64 `json:"min_lr"`       // the cosine schedule's last
	Schedule    string  `json:"schedule"`     // constant, cosine or noam
	Warmup      int     `json:"warmup"`       // -1: min(100, steps/10), resolved when a run starts
	Clip        float64 `json:"clip"`         // global gradient-norm limit; 0 disables
	WeightDecay float64 `json:"weight_decay"` // AdamW's decoupled decay
	Beta1       float64 `json:"beta1"`        // Adam's β₁, the first moment's decay
	Beta2       float64 `json:"beta2"`        // Adam's β₂, the second moment's decay
	AdamEps     float64 `json:"adam_eps"`     // Adam's ε
	Seed        uint64  `json:"seed"`         // of every random generator: initial weights, data, dropout
}

// Bookkeeping is how often a run validates, logs and saves, and how many
// checkpoints it keeps. Config and FitOptions embed it.
type Bookkeeping struct {
	EvalEvery int `json:"eval_every"` // validate every this many steps, and at the last
	LogEvery  int `json:"log_every"`  // a metrics line every this many steps
	SaveEvery int `json:"save_every"` // a checkpoint every this many steps, and at the last
	Keep      int `json:"keep"`       // checkpoints kept besides the best
}

// Default returns the settings of the default run: the reverse task.
func Default() Config {
	c := Config{
		Task: "reverse", Symbols: 10, MinLen: 2, Len: 12, ValExamples: 500, TestExamples: 1000,
		Architecture: Architecture{
			DModel: 64, Layers: 2, Dropout: 0, Dtype: Float32,
			TransformerConfig: TransformerConfig{Heads: 4, DFF: 128, Activation: layers.ReLU, Norm: layers.PostNorm, Positional: layers.Sinusoidal},
		},
		Optimization: Optimization{
			Batch: 32, Steps: 3000, LR: 1e-3, MinLR: 1e-5, Schedule: "cosine", Warmup: AutoWarmup, Clip: 1,
			WeightDecay: 0, Beta1: 0.9, Beta2: 0.99, AdamEps: 1e-8, Seed: 1,
		},
		Bookkeeping: Bookkeeping{EvalEvery: 250, LogEvery: 50, SaveEvery: 500, Keep: 3},
	}
	return c
}

// AutoWarmup as Config.Warmup asks for min(100, steps/10) warmup steps, so
// that a default warmup fits any number of steps.
const AutoWarmup = -1

// resolve fills in the settings that depend on others or on the data: an
// automatic warmup, and a file run's len.
func (c Config) resolve(ds *Dataset) Config {
	if c.Warmup == AutoWarmup {
		c.Warmup = min(100, c.Steps/10)
	}
	c.Architecture.resolve()
	if c.Data != "" && c.Len == 0 && ds != nil {
		c.Len = ds.MaxLen
	}
	return c
}

// Preset returns the tuned settings of a named task: Default with the
// changes that task needs to reach its target on held-out data.
func Preset(task string) (Config, error) {
	c := Default()
	c.Task = task
	if k, ok := data.LagDistance(task); ok { // lag, lag<k>: lengths follow the distance
		c.MinLen, c.Len = k+1, max(16, 2*k+10)
		c.Steps = 1000
		return c, nil
	}
	switch task {
	case "reverse":
	case "copy":
		c.Steps = 1000
	case "sort":
		c.Steps = 2000
	case "histogram":
		c.Steps = 2500
	case "recall":
		// Four keys and values, up to 16 positions: from length 10 on, filler
		// separates every pair from the query.
		c.Symbols, c.MinLen, c.Len = 4, 3, 16
		c.Batch, c.Steps = 64, 2500
	case "parity", "runparity":
		c.MinLen, c.Len = 2, 12
		c.Steps = 3000
	case "dyck":
		c.MinLen, c.Len = 2, 20
	default:
		return Config{}, fmt.Errorf("%w %q (known: %v)", data.ErrUnknownTask, task, data.TaskNames())
	}
	return c, nil
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, key, format string, args ...any) {
		if !ok {
			errs = append(errs, settingError(key, format, args...))
		}
	}
	switch {
	case c.Examples != "":
		check(c.Task == "" && c.Data == "", "examples", "examples in memory (Fit) take no task or data file")
		check(c.Len > 0, "len", "len must be positive, got %d", c.Len)
	case c.Data == "":
		_, lag := data.LagDistance(c.Task)
		check(lag || slices.Contains(data.TaskNames(), c.Task), "task", "unknown task %q (known: %v)", c.Task, data.TaskNames())
		check(c.Symbols > 0, "vocab", "vocab must be positive, got %d", c.Symbols)
		check(c.MinLen > 0 && c.MinLen <= c.Len, "min_len", "lengths must satisfy 0 < {min_len} <= {len}, got %d and %d", c.MinLen, c.Len)
	default:
		check(c.Task == "", "task", "give {-task} or {-data}, not both")
		check(c.Len >= 0, "len", "len must not be negative, got %d (0: the longest line)", c.Len)
	}
	check(c.Data != "" || c.Val == "", "val", "{-val} needs {-data}")
	check(c.Data != "" || c.Test == "", "test", "{-test} needs {-data}")
	check(c.ValExamples > 0 && c.TestExamples > 0 || c.Examples != "", "val_examples", "{val_examples} and {test_examples} must be positive, got %d and %d", c.ValExamples, c.TestExamples)
	errs = append(errs, c.Architecture.check()...)
	check(c.Batch > 0 && c.Steps > 0, "batch", "batch and steps must be positive, got %d and %d", c.Batch, c.Steps)
	check(c.Warmup >= AutoWarmup && c.Clip >= 0, "warmup", "warmup and clip must not be negative, got %d and %g", c.Warmup, c.Clip)
	check(c.Warmup < c.Steps || c.Steps <= 0, "warmup", "{-warmup} %d must be below {-steps} %d", c.Warmup, c.Steps)
	check(c.EvalEvery > 0 && c.LogEvery > 0 && c.SaveEvery > 0, "eval_every", "{eval_every}, {log_every} and {save_every} must be positive")
	check(c.Keep > 0, "keep", "keep must be positive, got %d", c.Keep)
	if len(errs) == 0 {
		if _, err := c.resolve(nil).schedule(); err != nil {
			errs = append(errs, errors.Unwrap(err))
		}
	}
	if err := c.adam().Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Optimizer describes the optimizer c trains with, as printed at the start
// of a run: Adam when weight decay is 0 (AdamW without decay is Adam, step
// for step), AdamW with its decoupled decay otherwise.
func (c Config) Optimizer() string {
	name := "Adam"
	if c.WeightDecay != 0 {
		name = fmt.Sprintf("AdamW (weight decay %g)", c.WeightDecay)
	}
	return fmt.Sprintf("%s, lr %g, β₁ %g, β₂ %g, ε %g", name, c.LR, c.Beta1, c.Beta2, c.AdamEps)
}

func (c Config) adam() optim.Config {
	return optim.Config{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.AdamEps, WeightDecay: c.WeightDecay, Decoupled: true}
}

func (c Config) schedule() (optim.Schedule, error) {
	s, err := optim.NewSchedule(c.Schedule, c.LR, c.MinLR, int64(c.Warmup), int64(c.Steps), c.DModel)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return s, nil
}

// Name is the run's name: the task, or the data file's base name.
func (c Config) Name() string {
	if c.Data != "" {
		return trimExt(filepath.Base(c.Data))
	}
	return c.Task
}

// RunDir returns Out, or checkpoints/<name> when Out is empty.
func (c Config) RunDir() string {
	if c.Out != "" {
		return c.Out
	}
	return filepath.Join("checkpoints", c.Name())
}

func trimExt(s string) string { return s[:len(s)-len(filepath.Ext(s))] }

// DecodeConfig overlays the JSON object in r onto c: keys present replace
// c's values, absent keys keep them. Keys must be spelled exactly as in a
// run's config.json; an unknown, misspelt or repeated key and a null value
// are errors, so no setting is silently ignored. A UTF-8 byte-order mark
// at the start is dropped.
func DecodeConfig(r io.Reader, c *Config) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New(`the file is empty: want a JSON object of settings, such as {"steps": 1000}`)
	}
	if err := checkKeys(b); err != nil {
		return jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// jsonError says what a config file's JSON error means in its own terms:
// the key and the kind of value it takes, not Go's type names.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends early (a missing } or \")")
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON after byte %d: %v", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te) && te.Field != "":
		// Field is the Go path to the key (Architecture.TransformerConfig.heads):
		// its last element is the key as the file spells it.
		k := te.Field[strings.LastIndex(te.Field, ".")+1:]
		return fmt.Errorf("key %q: got %s, want %s", k, te.Value, wantOf(te.Type))
	}
	return err
}

// wantOf describes the JSON values a Config field of type t takes.
func wantOf(t reflect.Type) string {
	if t.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		if t == reflect.TypeFor[Arch]() {
			return "a string: " + archNames() // the registered backbones
		}
		if names, ok := choices[t]; ok {
			return "a string: " + names
		}
		return "a string"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "a whole number (at most 9223372036854775807)"
	case reflect.Uint64:
		return "a whole number from 0 to 18446744073709551615"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	}
	return t.Kind().String()
}

// choices names the values of Config's typed string settings, for
// messages about a value of the wrong JSON type.
var choices = map[reflect.Type]string{
	reflect.TypeFor[layers.Activation]():    "relu or gelu",
	reflect.TypeFor[layers.Positional]():    "sinusoidal, learned, rotary or none",
	reflect.TypeFor[layers.NormPlacement](): "post or pre",
	reflect.TypeFor[layers.Mask]():          "padding or causal",
	reflect.TypeFor[Dtype]():                "float32 or float64",
}

// checkKeys reports what encoding/json would let pass silently: keys that
// match a field only case-insensitively, repeated keys and null values.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("want a JSON object of settings")
	}
	known := configKeys()
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // object keys are strings
		if !known[key] {
			for k := range known {
				if strings.EqualFold(k, key) {
					return fmt.Errorf("unknown key %q (did you mean %q?)", key, k)
				}
			}
			return fmt.Errorf("unknown key %q", key)
		}
		if seen[key] {
			return fmt.Errorf("key %q appears more than once", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if string(raw) == "null" {
			return fmt.Errorf("key %q is null: give a value, or leave the key out for the default", key)
		}
	}
	return nil
}

// configKeys returns the JSON keys of Config's fields.
func configKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range structKeys(reflect.TypeFor[Config]()) {
		keys[k] = true
	}
	return keys
}

// jsonKeys returns the JSON keys of the fields of the struct v points to.
func jsonKeys(v any) []string { return structKeys(reflect.TypeOf(v).Elem()) }

// structKeys returns the JSON keys of struct type t's fields, those of
// embedded structs included, as encoding/json promotes them.
func structKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			keys = append(keys, structKeys(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// ConfigFile is a JSON config file, read once and overlaid onto as many
// configs as need it.
type ConfigFile struct {
	path string
	b    []byte
}

// OpenConfigFile reads the config file at path.
func OpenConfigFile(path string) (*ConfigFile, error) {
	return OpenConfigFileContext(context.Background(), path)
}

// maxConfigFile bounds a config file: a run's config.json takes about a
// kilobyte.
const maxConfigFile = 1 << 20

// OpenConfigFileContext is OpenConfigFile stopped by ctx: a FIFO that no
// one writes (-config <(…) that never comes) waits only until ctx is
// done, and the error wraps ctx's cause. A file over a MiB is refused.
func OpenConfigFileContext(ctx context.Context, path string) (*ConfigFile, error) {
	b, err := data.ReadFileContext(ctx, path, maxConfigFile)
	if errors.Is(err, data.ErrTooLarge) {
		return nil, fmt.Errorf("train: config %s: larger than %d KiB; a run's config.json takes about one", path, maxConfigFile>>10)
	}
	if err != nil {
		return nil, fmt.Errorf("train: config: %w", err)
	}
	return &ConfigFile{path: path, b: b}, nil
}

// Path returns the file's path.
func (f *ConfigFile) Path() string { return f.path }

// Keys returns the keys the file holds.
func (f *ConfigFile) Keys() []string {
	var keys map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimPrefix(f.b, []byte("\uFEFF")), &keys) != nil {
		return nil // Overlay reports the error
	}
	return slices.Sorted(maps.Keys(keys))
}

// Sets reports whether the file sets key to a value other than base's:
// a command refuses a setting that would do nothing, and a run's own
// config.json, which lists every key, must still be usable as a -config.
func (f *ConfigFile) Sets(key string, base Config) bool {
	var keys map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimPrefix(f.b, []byte("\uFEFF")), &keys) != nil {
		return false // Overlay reports the error
	}
	if _, ok := keys[key]; !ok {
		return false
	}
	with := base
	if f.Overlay(&with) != nil {
		return false
	}
	return settingValue(with, key) != settingValue(base, key)
}

// settingValue is c's setting key as its JSON text.
func settingValue(c Config, key string) string {
	var all map[string]json.RawMessage
	b, _ := json.Marshal(c) // a Config always marshals
	_ = json.Unmarshal(b, &all)
	return string(all[key])
}

// Overlay overlays the file onto c (see DecodeConfig).
func (f *ConfigFile) Overlay(c *Config) error {
	if err := DecodeConfig(bytes.NewReader(f.b), c); err != nil {
		return fmt.Errorf("train: config %s: %w", f.path, err)
	}
	return nil
}

// ReadConfigFile overlays a JSON config file onto c.
func ReadConfigFile(path string, c *Config) error {
	f, err := OpenConfigFile(path)
	if err != nil {
		return err
	}
	return f.Overlay(c)
}

// Dtype is the element type of a model's tensors.
type Dtype string

// The dtypes a model can have.
const (
	Float32 Dtype = "float32"
	Float64 Dtype = "float64"
)

// String returns the dtype's name.
func (d Dtype) String() string { return string(d) }

// MarshalText returns the name.
func (d Dtype) MarshalText() ([]byte, error) { return []byte(d), nil }

// UnmarshalText takes the name as it is; Config.Validate reports an
// unknown one.
func (d *Dtype) UnmarshalText(b []byte) error { *d = Dtype(b); return nil }

// shapesOnly is the dtype of a model built to count its parameters (see
// paramCount); no config may name it.
const shapesOnly Dtype = "shapes only"

// Tensor returns d as a tensor dtype.
func (d Dtype) Tensor() tensor.Dtype {
	switch d {
	case Float64:
		return tensor.Float64
	case shapesOnly:
		return nn.ShapesOnly
	}
	return tensor.Float32
}

// modelConfig is the model of c for a task of kind with in input and out
// output tokens.
func (c Config) modelConfig(kind data.Kind, in, out int) ModelConfig {
	return ModelConfig{
		Kind: kind, InVocab: in, OutVocab: out, MaxLen: c.Len,
		Architecture: c.Architecture,
	}
}

// JSON returns the config as indented JSON.
func (c Config) JSON() []byte {
	b, _ := json.MarshalIndent(c, "", "  ") // plain fields: cannot fail
	return append(b, '\n')
}
