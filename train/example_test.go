package train_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/qkv-dev/qkv/train"
)

// Example trains a small model on the copy task and reports its accuracy
// on the held-out test set. The run is seeded, so it is reproducible; it
// writes its checkpoints and metrics.jsonl to cfg.Out.
func Example() {
	cfg, err := train.Preset("copy")
	if err != nil {
		log.Fatal(err)
	}
	cfg.MinLen, cfg.Len = 2, 6
	cfg.DModel, cfg.Heads, cfg.Layers, cfg.DFF = 16, 2, 1, 32
	cfg.Batch, cfg.Steps, cfg.LR, cfg.Warmup = 8, 200, 3e-3, 5
	cfg.ValExamples, cfg.TestExamples = 50, 100
	cfg.EvalEvery, cfg.SaveEvery = 100, 200
	cfg.Out, err = os.MkdirTemp("", "qkv-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cfg.Out)

	tr, err := train.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("steps: %d, best checkpoint: step %d\n", res.Steps, res.Best)
	fmt.Printf("test: %d sequences, %.0f%% copied exactly\n", res.Test.Examples, 100*res.Test.SequenceAccuracy)
	// Output:
	// steps: 200, best checkpoint: step 200
	// test: 100 sequences, 100% copied exactly
}
