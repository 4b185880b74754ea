package testbuild

import (
	"slices"
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
