// Package train assembles, trains and evaluates qkv's models.
//
// A Model is token embedding → Backbone → head. The backbone is the
// transformer encoder of "Attention Is All You Need" (Vaswani et al., 2017;
// embedding scaled by √d_model, positional encoding, encoder layers) or the
// recurrent baselines, an LSTM and a GRU; each lives in one file
// (transformer.go, lstm.go, gru.go) with its config, validation, flags and
// initialisation. The head is a linear map at every position for tagging
// tasks, or over the mean of the unpadded positions for sequence
// classification, with masked cross-entropy.
//
// Model.Build compiles it once per batch shape: a training graph with
// dropout and gradients, and forward-only evaluation graphs over the same
// weights (evaluation never runs the training graph: it would draw dropout
// masks and compute gradients it does not need).
//
// A Trainer runs the loop — batch, forward and backward, global-norm
// clipping, Adam (Kingma & Ba, 2015; with -weight-decay, AdamW, Loshchilov
// & Hutter, 2019) with a learning-rate schedule — validates on held-out data, logs one JSON object per line to
// metrics.jsonl, and checkpoints. A checkpoint directory holds the resolved
// config, the vocabularies, the weights (model.safetensors), the optimizer
// moments by parameter name, every random generator's state and the data
// stream's position, so that a resumed run is bit-identical to an
// uninterrupted one. Checkpoints are written atomically and verified
// against a SHA-256 manifest on load; see checkpoints/README.md.
//
// Fit trains a Model on examples held in memory with the same loop, and
// writes checkpoints only when given a directory; Model.Predict runs it.
//
// The package speaks in config keys (d_model, eval_every), the names of
// config.json: a bad setting is a *SettingError, which a command that takes
// flags renders with its flag names. Resumable is the one list of settings
// a resumed run may change.
//
// Files: backbone.go (Backbone, Architecture, the list of backbones),
// transformer.go and lstm.go (one architecture each), model.go (Model,
// Build), fit.go (Fit), trainer.go (Trainer, New), loop.go (Run), resume.go (the rules of
// resuming), metrics.go (metrics.jsonl), checkpoint.go (the format),
// state.go (the resume state), rundir.go (latest, best, fallback, pruning),
// durable.go (the one durable write), alignment.go (attention heads scored
// against a task's alignment), curves.go (loss curves).
//
// For studying a run: WriteCurves draws a run directory's metrics.jsonl as
// loss, accuracy, learning-rate and gradient-norm curves (Run leaves one,
// CurvesFile, in every run directory when it ends), and Alignment
// scores each attention head by the weight it puts where a task's
// data.Aligner says the answer comes from, against the chance level.
package train
