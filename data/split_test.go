package data

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustSplits(t *testing.T, name string, symbols int, cfg SplitConfig) *Splits {
	t.Helper()
	task, err := NewTask(name, symbols)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSplits(task, cfg)
	if err != nil {
		t.Fatalf("NewSplits(%s, %+v): %v", name, cfg, err)
	}
	return s
}

func TestSplitsDisjoint(t *testing.T) {
	tests := []struct {
		name    string
		symbols int
		cfg     SplitConfig
		small   bool // raw generation would hit held-out sequences
	}{
		{"copy", 2, SplitConfig{Seed: 1, MinLen: 4, MaxLen: 7, Val: 60, Test: 60}, true},
		{"parity", 0, SplitConfig{Seed: 2, MinLen: 5, MaxLen: 8, Val: 40, Test: 40}, true},
		{"dyck", 0, SplitConfig{Seed: 3, MinLen: 6, MaxLen: 10, Val: 50, Test: 50}, true},
		{"recall", 8, SplitConfig{Seed: 4, MinLen: 9, MaxLen: 17, Val: 200, Test: 200}, false},
		{"sort", 10, SplitConfig{Seed: 5, MinLen: 3, MaxLen: 12, Val: 100, Test: 50, TestLen: 20}, false},
	}
	for _, tt := range tests {
		s := mustSplits(t, tt.name, tt.symbols, tt.cfg)
		if len(s.Val) != tt.cfg.Val || len(s.Test) != tt.cfg.Test {
			t.Fatalf("%s: %d val, %d test; want %d, %d", tt.name, len(s.Val), len(s.Test), tt.cfg.Val, tt.cfg.Test)
		}
		seen := map[string]string{}
		for set, exs := range map[string][]Example{"val": s.Val, "test": s.Test} {
			for _, ex := range exs {
				k := string(appendKey(nil, ex.Input))
				if prev, dup := seen[k]; dup {
					t.Fatalf("%s: %s input %v already in %s", tt.name, set, ex.Input, prev)
				}
				seen[k] = set
				if !s.HeldOut(ex.Input) {
					t.Fatalf("%s: HeldOut(%v) = false for a %s input", tt.name, ex.Input, set)
				}
			}
		}
		for _, ex := range s.Test {
			if tt.cfg.TestLen > 0 && len(ex.Input) != tt.cfg.TestLen {
				t.Fatalf("%s: test length %d, want %d", tt.name, len(ex.Input), tt.cfg.TestLen)
			}
		}
		src := s.Train(99)
		for i := range 20000 {
			ex := src.Next()
			if n := len(ex.Input); n < tt.cfg.MinLen || n > tt.cfg.MaxLen {
				t.Fatalf("%s: training length %d outside [%d,%d]", tt.name, n, tt.cfg.MinLen, tt.cfg.MaxLen)
			}
			if _, held := seen[string(appendKey(nil, ex.Input))]; held {
				t.Fatalf("%s: training example %d %v is held out", tt.name, i, ex.Input)
			}
		}
		if src.Drawn() != 20000 {
			t.Errorf("%s: Drawn() = %d, want 20000", tt.name, src.Drawn())
		}
		if tt.small {
			// Without rejection the same stream would have leaked.
			rng := rand.New(rand.NewPCG(99, 0))
			hits := 0
			for range 20000 {
				ex := s.Task().Generate(rng, tt.cfg.MinLen+rng.IntN(tt.cfg.MaxLen-tt.cfg.MinLen+1))
				if s.HeldOut(ex.Input) {
					hits++
				}
			}
			if hits == 0 {
				t.Errorf("%s: raw generation never hit a held-out sequence; the case does not test rejection", tt.name)
			}
		}
	}
}

func TestSplitsDeterministic(t *testing.T) {
	cfg := SplitConfig{Seed: 11, MinLen: 3, MaxLen: 9, Val: 30, Test: 30}
	a, b := mustSplits(t, "reverse", 6, cfg), mustSplits(t, "reverse", 6, cfg)
	cfg.Seed = 12
	c := mustSplits(t, "reverse", 6, cfg)
	if Overlap(a.Val, b.Val) != 30 || Overlap(a.Test, b.Test) != 30 {
		t.Error("same seed gave different held-out sets")
	}
	if Overlap(a.Val, c.Val) == 30 {
		t.Error("seeds 11 and 12 gave the same validation set")
	}
}

func TestSplitsTooSmall(t *testing.T) {
	tests := []struct {
		name string
		cfg  SplitConfig
		want string
	}{
		// 8 sequences of length 3 cannot give 100 distinct.
		{"parity", SplitConfig{Seed: 1, MinLen: 3, MaxLen: 3, Val: 100}, "found 8 of 100 distinct val"},
		{"parity", SplitConfig{Seed: 1, MinLen: 3, MaxLen: 3, Val: 5, Test: 5}, "test sequences"},
		// All 8 held out: nothing left to train on.
		{"parity", SplitConfig{Seed: 1, MinLen: 3, MaxLen: 3, Val: 4, Test: 4}, "leaving too little to train on"},
		{"dyck", SplitConfig{Seed: 1, MinLen: 2, MaxLen: 2, Val: 5}, "found 4 of 5 distinct val"}, // (), )(, ((, ))
	}
	for _, tt := range tests {
		task, _ := NewTask(tt.name, 0)
		_, err := NewSplits(task, tt.cfg)
		if !errors.Is(err, ErrSpaceTooSmall) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSplits(%s, %+v) error = %v, want ErrSpaceTooSmall containing %q", tt.name, tt.cfg, err, tt.want)
		}
	}
}

func TestSplitConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  SplitConfig
		want string
	}{
		{"recall", SplitConfig{MinLen: 2, MaxLen: 5}, "below the task's minimum 3"},
		{"copy", SplitConfig{MinLen: 5, MaxLen: 4}, "max length 4 below min length 5"},
		{"histogram", SplitConfig{MinLen: 1, MaxLen: 65}, "above the task's limit 64"},
		{"histogram", SplitConfig{MinLen: 1, MaxLen: 8, TestLen: 100}, "test length 100 above"},
		{"copy", SplitConfig{MinLen: 1, MaxLen: 4, Val: -1}, "negative"},
		{"copy", SplitConfig{MinLen: 1, MaxLen: 4, TestLen: -1}, "test length -1"},
	}
	for _, tt := range tests {
		task, _ := NewTask(tt.name, 4)
		if err := tt.cfg.Validate(task); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.Validate(%s) = %v, want error containing %q", tt.cfg, tt.name, err, tt.want)
		}
	}
}
