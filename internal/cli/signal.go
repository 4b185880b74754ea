package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// StopSignals stop a qkv command: Ctrl-C, kill, and a closed terminal.
var StopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// SignalError is the cause of a command's context when a stop signal
// cancels it (context.Cause).
type SignalError struct{ Signal os.Signal }

// Error names the signal.
func (e SignalError) Error() string { return e.Signal.String() }

// Status is the exit status of a command the signal stopped: 128 + its
// number, as a shell reports a process the signal killed (130 for SIGINT,
// 143 for SIGTERM, 129 for SIGHUP).
func (e SignalError) Status() int {
	if n, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128 + int(syscall.SIGINT)
}

// NotifyContext returns a context that the first of StopSignals cancels
// with a SignalError as its cause. Before cancelling, it restores the
// signals' default handling, so that a second signal kills the process at
// once, and then calls say, if not nil, with the signal (to tell the user
// what happens next). The order matters: a signal sent on reading say's
// message lands after the reset and is not lost.
func NotifyContext(say func(os.Signal)) context.Context {
	ctx, stop := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, StopSignals...)
	go func() {
		sig := <-sigs
		signal.Reset(StopSignals...)
		if say != nil {
			say(sig)
		}
		stop(SignalError{sig})
	}()
	return ctx
}
