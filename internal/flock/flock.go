// Package flock takes the exclusive advisory locks by which a run
// directory (train) or a report directory (cmd/study) is held by one
// process at a time. The kernel releases such a lock when the process
// ends, however it ends, so a killed holder never blocks the next one.
package flock

import "errors"

// ErrWouldBlock reports a lock another open file description holds.
var ErrWouldBlock = errors.New("would block")
