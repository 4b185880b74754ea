// Package cli holds what qkv's commands share about their flags.
package cli

import (
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode/utf8"
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

// Command returns how to run the qkv command cmd (train, eval) from the
// current directory, for a command line the running command self prints
// as advice. A binary names its sibling as it was itself started
// (bin/qkv-train gives bin/qkv-eval) when that exists; a program started
// by go run, or one whose sibling is not found, gives go run with the
// package's import path, which works anywhere inside the module.
func Command(self, cmd string) string {
	goRun := "go run github.com/qkv-dev/qkv/cmd/" + cmd
	exe, err := os.Executable()
	if err != nil || len(os.Args) == 0 || strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return goRun
	}
	name := os.Args[0]
	if cmd != self {
		dir, base := filepath.Split(name)
		i := strings.LastIndex(base, self)
		if i < 0 {
			return goRun
		}
		name = dir + base[:i] + cmd + base[i+len(self):]
		if dir == "" {
			if _, err := exec.LookPath(name); err != nil || name == "eval" { // eval is the shell's
				return goRun
			}
		} else if fi, err := os.Stat(name); err != nil || fi.IsDir() {
			return goRun
		}
	}
	return Quote(name)
}

// Quote returns s quoted for a POSIX shell: as it is when it holds only
// characters no shell treats specially, else in single quotes (a single
// quote inside written '\”).
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
