package archtest

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/qkv-dev/qkv"

// allowed lists, for each package, the project packages it may import
// (directly or not). Anything not listed may import nothing of the project.
// The numeric kernels under internal/ (gemm, vecf32, vecf64) import nothing of the
// project but the worker team (internal/team) that gemm shares out its work
// on; nn calls them, so whatever may import nn may reach them.
var allowed = map[string][]string{
	"nn":                 {"internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"layers":             {"nn", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"optim":              {"nn", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"data":               {},
	"train":              {"nn", "layers", "optim", "data", "internal/flock", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"cmd/train":          {"nn", "layers", "optim", "data", "train", "internal/cli", "internal/flock", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"cmd/eval":           {"nn", "layers", "optim", "data", "train", "internal/cli", "internal/heatmap", "internal/explore", "internal/flock", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"cmd/study":          {"nn", "layers", "optim", "data", "train", "internal/cli", "internal/heatmap", "internal/flock", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"bench":              {"nn", "layers", "optim", "data", "train", "internal/flock", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
	"bench/cmd/qkvbench": {"bench", "nn", "layers", "optim", "data", "train", "internal/cli", "internal/flock", "internal/gemm", "internal/team", "internal/vecf32", "internal/vecf64"},
}

// direct lists, for the commands, the project packages they may import
// themselves: they speak to train (and data for its names), never past it
// to the packages train is built on.
var direct = map[string][]string{
	"cmd/train": {"train", "data", "internal/cli"},
	"cmd/eval":  {"train", "data", "internal/cli", "internal/heatmap", "internal/explore"},
	"cmd/study": {"train", "data", "internal/cli", "internal/heatmap", "internal/flock"},
}

// outside lists, for the commands, the modules outside the project and the
// standard library they may import themselves: the terminal check and
// cmd/study's plots and progress bars. (cmd/eval writes its pictures with
// train.WriteOutput.)
var outside = map[string][]string{
	"cmd/train": {"golang.org/x/term"},
	"cmd/study": {"golang.org/x/term", "gonum.org/v1/plot", "github.com/schollz/progressbar/v3"},
}

// noGorgonia lists packages that must not depend on Gorgonia at all.
var noGorgonia = []string{"data"}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestDependencyLines(t *testing.T) {
	readSources(t)
	out, err := exec.Command("go", "list", "-deps=false", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if strings.HasPrefix(rel, "internal/") {
			continue
		}
		seen[rel] = true
		ok, known := allowed[rel]
		if !known {
			t.Errorf("package %s is not in the dependency table; add it to DESIGN.md and here", rel)
			continue
		}
		if ok, limited := direct[rel]; limited {
			for _, d := range p.Imports {
				drel, own := strings.CutPrefix(d, module+"/")
				if own && !contains(ok, drel) {
					t.Errorf("%s imports %s itself; it may import only %v of the project", rel, drel, ok)
				}
				first, _, _ := strings.Cut(d, "/")
				if !own && strings.Contains(first, ".") && !slices.ContainsFunc(outside[rel], func(m string) bool { return d == m || strings.HasPrefix(d, m+"/") }) {
					t.Errorf("%s imports %s itself; outside the standard library it may import only %v", rel, d, outside[rel])
				}
			}
		}
		for _, d := range deps(t, p.ImportPath) {
			if strings.HasPrefix(d, module) {
				drel := strings.TrimPrefix(strings.TrimPrefix(d, module), "/")
				if drel == rel {
					continue
				}
				if !contains(ok, drel) {
					t.Errorf("%s imports %s, which DESIGN.md forbids", rel, drel)
				}
			}
			if contains(noGorgonia, rel) && strings.HasPrefix(d, "gorgonia.org/") {
				t.Errorf("%s depends on %s; it must use the standard library only", rel, d)
			}
			if strings.Contains(d, "/cmd/") && strings.HasPrefix(d, module) && !strings.HasPrefix(rel, "cmd/") {
				t.Errorf("%s imports a command, %s", rel, d)
			}
		}
	}
	for rel := range allowed {
		if !seen[rel] {
			t.Errorf("package %s from the table was not found", rel)
		}
	}
}

// readSources reads every Go file and go.mod in the module. The imports are
// read by `go list` in a child process, which go test's cache does not see:
// without this, a cached pass would stand after an import changed. Reading
// the files here puts them in the test's log, so a change to any of them
// runs the test again.
func readSources(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	n := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" {
			if _, err := os.ReadFile(path); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the module's sources: %v", err)
	}
	if n == 0 {
		t.Fatalf("no Go files under %s", root)
	}
}

// deps returns every package p depends on, transitively.
func deps(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Deps "\n"}}`, path).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", path, err)
	}
	return strings.Fields(string(out))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
