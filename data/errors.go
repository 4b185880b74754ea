package data

import "errors"

// Sentinel errors of the package, to be tested with errors.Is.
var (
	// ErrUnknownTask is wrapped by NewTask when the name is not one of TaskNames.
	ErrUnknownTask = errors.New("unknown task")
	// ErrSpaceTooSmall is wrapped by NewSplits when the sequences at the
	// requested lengths are too few for the held-out sets, or would leave
	// too little for training.
	ErrSpaceTooSmall = errors.New("sequence space too small")
	// ErrTooFewExamples is wrapped by Split when a file has too few distinct
	// inputs to give every set at least one.
	ErrTooFewExamples = errors.New("too few examples")
	// ErrTooLarge is wrapped by ReadFileContext when a file holds more
	// bytes than the caller's limit.
	ErrTooLarge = errors.New("too large")
)
