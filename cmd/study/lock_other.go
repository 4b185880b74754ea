//go:build !unix

package main

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// tryLock does nothing where flock is missing: one study per report
// directory is then the user's to keep.
func tryLock(*os.File) error { return nil }
