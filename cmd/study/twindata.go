package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/qkv-dev/qkv/data"
)

// The cross-check's setting (issue 14): lag8 tagging at one length over 8
// symbols, as TSV files that qkv-train reads with -data and that
// scripts/lstm_twin.py trains PyTorch's twins on. A target that is not
// scored (i < k) is spelled twinFiller: a data file has no way to say
// "ignore", so both trainers see it as a class, and both score only i ≥ k.
const (
	twinK        = 8
	twinLen      = 24
	twinSymbols  = 8
	twinTrain    = 20000
	twinVal      = 1000
	twinTest     = 1000
	twinFiller   = "_"
	twinSteps    = 1500
	twinDataSeed = 1 // the data is the same whatever the study's seed
)

// twinFiles are the file names writeTwinData writes, by split.
var twinFiles = [3]string{"train.tsv", "val.tsv", "test.tsv"}

// writeTwinData writes the cross-check's train, validation and test files
// into dir, drawn from one seeded generator, so that the same call writes
// the same bytes on every machine.
func writeTwinData(dir string) error {
	task, err := data.NewLag(twinK, twinSymbols)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(twinDataSeed, 14))
	in, out := task.InVocab(), task.OutVocab()
	for i, n := range [3]int{twinTrain, twinVal, twinTest} {
		var b strings.Builder
		fmt.Fprintf(&b, "# lag%d, length %d over %d symbols; target i is input i-%d, %q where not scored (i < %d)\n", twinK, twinLen, twinSymbols, twinK, twinFiller, twinK)
		for range n {
			ex := task.Generate(rng, twinLen)
			tgt := make([]string, len(ex.Target))
			for j, id := range ex.Target {
				tgt[j] = twinFiller
				if id != data.Ignore {
					tgt[j] = out.Token(id)
				}
			}
			fmt.Fprintf(&b, "%s\t%s\n", strings.Join(in.Decode(ex.Input), " "), strings.Join(tgt, " "))
		}
		if err := writeFile(filepath.Join(dir, twinFiles[i]), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes s to a new file at path; it never replaces one.
func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString(s)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
