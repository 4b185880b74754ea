package main

import (
	"errors"
	"testing"
)

// TestUsageErrors: a command line qkvbench cannot run is a usage error
// (exit status 2, one line) before anything is built; a good one is not.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-size", "bogus"}, {"-eval-bytes=maybe"}, {"-mode", "x"}, {"-nope"},
		{"-dtype", "float16", "-steps", "1"}, {"-size", "huge", "-eval-batch"},
	} {
		var u usageError
		if err := run(args); !errors.As(err, &u) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
	if err := run([]string{"-eval-batch"}); err != nil {
		t.Errorf("run(-eval-batch) = %v, want nil", err)
	}
}
