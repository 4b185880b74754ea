// Package testbuild builds the programs that tests run as real processes
// with the build settings of the test binary itself, so that
// `go test -race`, `go test -tags purego` and GOAMD64=v3 test the programs
// built the same way, not a default build beside them.
package testbuild

import (
	"os/exec"
	"runtime/debug"
)

// Flags returns the flags of `go build` that reproduce the test binary's
// -tags and -race settings (GOAMD64 and the other GO* variables reach the
// child through the environment).
func Flags() []string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var flags []string
	for _, s := range info.Settings {
		switch s.Key {
		case "-tags":
			if s.Value != "" {
				flags = append(flags, "-tags="+s.Value)
			}
		case "-race":
			if s.Value == "true" {
				flags = append(flags, "-race")
			}
		}
	}
	return flags
}

// Command returns `go build` with Flags, writing the package pkg to out.
func Command(out, pkg string) *exec.Cmd {
	args := append([]string{"build"}, Flags()...)
	return exec.Command("go", append(args, "-o", out, pkg)...)
}
