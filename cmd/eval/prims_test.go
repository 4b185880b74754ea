package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qkv-dev/qkv/layers"
	"github.com/qkv-dev/qkv/train"
)

// TestPrimitiveModelsEval evaluates runs of the models written in
// primitives — a GRU, causal attention, rotary positions — and wants
// exactly the validation numbers training logged at its last step.
func TestPrimitiveModelsEval(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(c *train.Config)
	}{
		{"gru", func(c *train.Config) { c.Model = train.GRU }},
		{"causal", func(c *train.Config) { c.Mask = layers.CausalMaskKind }},
		{"rotary", func(c *train.Config) { c.Positional = layers.RotaryPosition }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			c := runConfig(dir)
			c.Steps = 20
			tt.set(&c)
			tr, err := train.New(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			rep := decodeJSON(t, mustEval(t, "-ckpt", dir, "-split", "val", "-which", "latest", "-json").stdout)
			if rep.Step != c.Steps || rep.Metrics == nil || rep.Metrics.Examples != c.ValExamples {
				t.Fatalf("-json: step %d, metrics %+v; want step %d over %d examples", rep.Step, rep.Metrics, c.Steps, c.ValExamples)
			}
			want := logged(t, dir, rep.Step, "eval_loss")
			if rep.Metrics.Loss != want["eval_loss"] || rep.Metrics.TokenAccuracy != want["eval_token_accuracy"] {
				t.Errorf("loss %v, token accuracy %v; training logged %v and %v", rep.Metrics.Loss, rep.Metrics.TokenAccuracy, want["eval_loss"], want["eval_token_accuracy"])
			}
		})
	}
}

// TestInputTooLong: an -input longer than a model's learned positions
// cover is refused in one line that names -input once and no index (there
// is one input), where it used to read "-input: train: input 0: …".
func TestInputTooLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	c := runConfig(dir)
	c.Steps, c.Positional = 10, layers.Learned
	tr, err := train.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := runEval(t, "-ckpt", dir, "-input", strings.Repeat("a ", 2*c.Len))
	if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "eval: -input: ") ||
		strings.Contains(r.stderr, "train:") || strings.Contains(r.stderr, "input 0") {
		t.Errorf("-input of %d tokens on a model of %d learned positions: exit %d, stderr %q; want exit 2 and one line naming -input alone", 2*c.Len, c.Len, r.code, r.stderr)
	}
}
