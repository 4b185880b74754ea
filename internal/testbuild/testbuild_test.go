package testbuild

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFlagsFollowTheBuild checks Flags against what this test binary was
// built with: under -race the flag must be passed on, and the race build
// tag file sets raceEnabled.
func TestFlagsFollowTheBuild(t *testing.T) {
	flags := Flags()
	if got := slices.Contains(flags, "-race"); got != raceEnabled {
		t.Errorf("Flags() = %q: -race passed on is %v, the test binary's race detector is %v", flags, got, raceEnabled)
	}
	if got := slices.Contains(flags, "-tags=purego"); got != puregoTag {
		t.Errorf("Flags() = %q: -tags=purego passed on is %v, the purego tag is %v", flags, got, puregoTag)
	}
}

// TestSources checks that Sources names the files of the package and of the
// module's packages it imports, and nothing from outside the module.
func TestSources(t *testing.T) {
	files, err := Sources("github.com/qkv-dev/qkv/cmd/eval")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"cmd/eval/main.go": false, "train/loop.go": false, "internal/explore/assets/explore.js": false}
	for _, f := range files {
		for w := range want {
			if strings.HasSuffix(filepath.ToSlash(f), "/"+w) {
				want[w] = true
			}
		}
		if strings.Contains(f, "gorgonia") || strings.HasSuffix(f, "_test.go") {
			t.Errorf("Sources lists %s: not a file of the module that building cmd/eval compiles", f)
		}
	}
	for w, found := range want {
		if !found {
			t.Errorf("Sources does not list %s among %d files", w, len(files))
		}
	}
	if _, err := Sources("github.com/qkv-dev/qkv/no/such/package"); err == nil {
		t.Error("Sources of a package that does not exist: no error")
	}
}
