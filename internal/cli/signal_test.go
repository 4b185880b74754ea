package cli

import (
	"os"
	"syscall"
	"testing"
)

// TestSignalStatus: each stop signal's exit status is 128 + its number, as
// a shell reports a process the signal killed.
func TestSignalStatus(t *testing.T) {
	for _, tt := range []struct {
		sig  os.Signal
		want int
	}{{os.Interrupt, 130}, {syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		if got := (SignalError{tt.sig}).Status(); got != tt.want {
			t.Errorf("SignalError{%v}.Status() = %d, want %d", tt.sig, got, tt.want)
		}
	}
}
