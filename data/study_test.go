package data

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestLagDistances: every distance k makes targets input[i−k] from i = k
// on and Ignore before, and the name round-trips through NewTask to the
// same k.
func TestLagDistances(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, k := range []int{1, 2, LagDefault, 7, 40} {
		task, err := NewLag(k, 5)
		if err != nil {
			t.Fatalf("NewLag(%d, 5): %v", k, err)
		}
		if task.MinLength() != k+1 {
			t.Errorf("NewLag(%d).MinLength() = %d, want %d", k, task.MinLength(), k+1)
		}
		again, err := NewTask(task.Name(), 5)
		if err != nil || again.(*lagTask).k != k {
			t.Errorf("NewTask(%q) = %v, %v; want distance %d", task.Name(), again, err, k)
		}
		for _, n := range []int{k + 1, k + 2, 3*k + 5} {
			ex := task.Generate(rng, n)
			for i, got := range ex.Target {
				want := Ignore
				if i >= k {
					want = ex.Input[i-k]
				}
				if got != want {
					t.Fatalf("lag %d, length %d: target[%d] = %d, want %d (input %v)", k, n, i, got, want, ex.Input)
				}
			}
		}
	}
	if task, _ := NewTask("lag3", 5); task.Name() != "lag" {
		t.Errorf(`NewTask("lag3").Name() = %q, want "lag" (the default distance)`, task.Name())
	}
	if task, _ := NewTask("lag12", 5); task.Name() != "lag12" || task.(*lagTask).k != 12 {
		t.Errorf(`NewTask("lag12") = %q`, task.Name())
	}
	if _, err := NewLag(0, 5); err == nil {
		t.Error("NewLag(0, 5) succeeded")
	}
}

// TestRunParityPrefixes: the target at i is the parity of the 1s in
// input[0..i], checked against a recount of each prefix, and the last
// target is the whole string's parity, as the parity task labels it.
func TestRunParityPrefixes(t *testing.T) {
	task, _ := NewTask("runparity", 0)
	par, _ := NewTask("parity", 0)
	rng := rand.New(rand.NewPCG(8, 1))
	odd := 0
	for range 300 {
		ex := task.Generate(rng, 1+rng.IntN(30))
		in := task.InVocab().Decode(ex.Input)
		out := task.OutVocab().Decode(ex.Target)
		for i := range in {
			ones := strings.Count(strings.Join(in[:i+1], ""), "1")
			if want := []string{"even", "odd"}[ones%2]; out[i] != want {
				t.Fatalf("input %v: target[%d] = %q, want %q", in, i, out[i], want)
			}
		}
		if out[len(out)-1] == "odd" {
			odd++
		}
		if par.OutVocab().Token(ex.Target[len(ex.Target)-1]) != out[len(out)-1] {
			t.Fatalf("runparity's last label %q is not parity's spelling", out[len(out)-1])
		}
	}
	if odd < 100 || odd > 200 {
		t.Errorf("%d of 300 strings end odd, want about 150", odd)
	}
}

// TestParseLag: only "lag" followed by a positive decimal without leading
// zeros names a lag task of that distance; LagDistance adds "lag" itself.
func TestParseLag(t *testing.T) {
	for name, want := range map[string]int{"lag1": 1, "lag10": 10, "lag999": 999} {
		if k, ok := parseLag(name); !ok || k != want {
			t.Errorf("parseLag(%q) = %d, %v; want %d, true", name, k, ok, want)
		}
	}
	for name, want := range map[string]int{"lag": LagDefault, "lag1": 1, "lag64": 64} {
		if k, ok := LagDistance(name); !ok || k != want {
			t.Errorf("LagDistance(%q) = %d, %v; want %d, true", name, k, ok, want)
		}
	}
	if k, ok := LagDistance("lag0"); ok {
		t.Errorf(`LagDistance("lag0") = %d, true`, k)
	}
	for _, name := range []string{"lag", "lag0", "lag01", "lag-1", "lag+1", "lagx", "lag1x", "lag 1", "xlag1", "lag" + strconv.Itoa(1<<62) + "0000"} {
		if k, ok := parseLag(name); ok {
			t.Errorf("parseLag(%q) = %d, true; want false", name, k)
		}
	}
}
