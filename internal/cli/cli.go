// Package cli holds what qkv's commands share about their flags.
package cli

import (
	"errors"
	"flag"
	"io"
)

// Parse parses args with fs, which must be a flag.ContinueOnError set, and
// returns the names of the flags given. The flag package prints usage on
// -h and on every error; bad input gets its one-line error alone, so only
// -h writes usage (a header, then the flags) to stderr, and returns
// flag.ErrHelp.
func Parse(fs *flag.FlagSet, args []string, stderr io.Writer, usage func(w io.Writer)) (map[string]bool, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stderr)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set, nil
}
