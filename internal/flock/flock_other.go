//go:build !unix

package flock

import "os"

// TryLock does nothing where flock is missing: one process per directory
// is then the user's to keep.
func TryLock(*os.File) error { return nil }
