// Package testbuild builds the programs that tests run as real processes
// with the build settings of the test binary itself, so that
// `go test -race`, `go test -tags purego` and GOAMD64=v3 test the programs
// built the same way, not a default build beside them.
package testbuild

import (
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
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

// Sources reads every file that building pkg compiles from this module and
// returns their paths. go test caches a test's result by the test binary and
// the files the test opened; a program built by `go build` in a child
// process is neither, so a test that builds another package's program must
// call Sources from inside a test (where go test logs what is opened), or a
// change to that program would leave a stale cached pass standing. A package
// that builds itself needs no call: its files are the test binary's.
func Sources(pkg string) ([]string, error) {
	args := append([]string{"list", "-deps"}, Flags()...)
	args = append(args, "-f", `{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .SFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, pkg)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	files := strings.Fields(string(out))
	for _, f := range files {
		if _, err := os.ReadFile(f); err != nil {
			return nil, err
		}
	}
	return files, nil
}
