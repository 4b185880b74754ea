package main

import "testing"

// The verdict rules, fed numbers on both sides of each threshold: a rule
// replaced by a constant fails at least one case.

func TestLongRangeVerdict(t *testing.T) {
	for _, c := range []struct {
		tWorst, lWorst, tLast, lLast float64
		want                         string
	}{
		{0.96, 0.90, 0.96, 0.90, holds},    // kept, and the LSTM loses more than 5 points
		{0.94, 0.80, 0.94, 0.80, partly},   // not kept (below 95%), ahead at the longest k
		{0.96, 0.92, 0.96, 0.92, notShown}, // kept by both: within 5 points
		{0.80, 0.70, 0.80, 0.76, notHolds}, // ahead by less than 5 points at the longest k
		{0.80, 0.70, 0.70, 0.80, notHolds}, // behind
	} {
		if got := longRangeVerdict(c.tWorst, c.lWorst, c.tLast, c.lLast); got != c.want {
			t.Errorf("longRangeVerdict(%v, %v, %v, %v) = %q, want %q", c.tWorst, c.lWorst, c.tLast, c.lLast, got, c.want)
		}
	}
}

func TestGradientVerdict(t *testing.T) {
	for _, c := range []struct {
		tInit, lInit float64
		want         string
	}{
		{0.5, 0.1, holds},     // 5× and above 0.1
		{0.25, 0.1, partly},   // above, but under 3×
		{0.09, 0.01, partly},  // 9×, but fading itself (under 0.1)
		{0.1, 0.2, notHolds},  // fades more than the LSTM's
		{0.2, 0.2, notHolds},  // the same
		{0.31, 0.1, holds},    // just over 3×
		{0.29, 0.1, partly},   // just under 3×
		{0.101, 0.01, holds},  // just over the floor
		{0.099, 0.01, partly}, // just under it
	} {
		if got := gradientVerdict(c.tInit, c.lInit); got != c.want {
			t.Errorf("gradientVerdict(%v, %v) = %q, want %q", c.tInit, c.lInit, got, c.want)
		}
	}
}

func TestParallelVerdict(t *testing.T) {
	tm := func(med, lo, hi float64) timing { return timing{Median: med, Min: lo, Max: hi} }
	for _, c := range []struct {
		name                         string
		tShort, tLong, lShort, lLong timing
		tDepth, lDepth               int
		want                         string
	}{
		{"faster beyond the spread and grows more slowly", tm(1, 0.9, 1.1), tm(4, 3.8, 4.2), tm(1, 0.9, 1.1), tm(10, 9, 11), 2, 128, holds},
		{"the spreads overlap at the longest length", tm(1, 0.9, 1.1), tm(8, 6, 9.5), tm(1, 0.9, 1.1), tm(10, 9, 11), 2, 128, partly},
		{"faster, but grows as fast within the spreads", tm(1, 0.5, 1.5), tm(4, 3.8, 4.2), tm(2, 1.9, 2.1), tm(5, 4.5, 5.5), 2, 128, partly},
		{"slower", tm(1, 0.9, 1.1), tm(20, 19, 21), tm(1, 0.9, 1.1), tm(10, 9, 11), 2, 128, partly},
		{"slower and deeper", tm(1, 0.9, 1.1), tm(20, 19, 21), tm(1, 0.9, 1.1), tm(10, 9, 11), 128, 128, notHolds},
	} {
		if got := parallelVerdict(c.tShort, c.tLong, c.lShort, c.lLong, c.tDepth, c.lDepth); got != c.want {
			t.Errorf("%s: parallelVerdict = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReadableVerdict(t *testing.T) {
	for _, c := range []struct {
		best, chance []float64
		want         string
	}{
		{[]float64{0.9, 0.6}, []float64{0.1, 0.1}, holds},
		{[]float64{0.9, 0.49}, []float64{0.1, 0.1}, partly}, // under half
		{[]float64{0.9, 0.55}, []float64{0.1, 0.2}, partly}, // under 3× chance
		{[]float64{0.9, 0.61}, []float64{0.1, 0.2}, holds},  // just over 3× chance
	} {
		if got := readableVerdict(c.best, c.chance); got != c.want {
			t.Errorf("readableVerdict(%v, %v) = %q, want %q", c.best, c.chance, got, c.want)
		}
	}
}

func TestLengthVerdict(t *testing.T) {
	for _, c := range []struct {
		t, l []float64
		want string
	}{
		{[]float64{0.9, 0.9, 0.5}, []float64{0.5, 0.5, 0.9}, holds},    // ahead on 2 of 3
		{[]float64{0.5, 0.5, 0.9}, []float64{0.9, 0.9, 0.5}, notHolds}, // behind on 2 of 3
		{[]float64{0.9, 0.5, 0.7}, []float64{0.5, 0.9, 0.7}, partly},   // one each, one even
		{[]float64{0.56, 0.56, 0.5}, []float64{0.5, 0.5, 0.5}, holds},  // just over 5 points
		{[]float64{0.54, 0.54, 0.5}, []float64{0.5, 0.5, 0.5}, partly}, // just under
	} {
		if got := lengthVerdict(c.t, c.l); got != c.want {
			t.Errorf("lengthVerdict(%v, %v) = %q, want %q", c.t, c.l, got, c.want)
		}
	}
}

func TestControlVerdict(t *testing.T) {
	for _, c := range []struct {
		tTest, lTest, tLong, lLong float64
		want                       string
	}{
		{0.90, 0.95, 0.6, 0.6, holds},     // ahead at the trained lengths
		{0.95, 0.95, 0.6, 0.9, holds},     // ahead at the longest
		{0.95, 0.96, 0.6, 0.61, notHolds}, // within 2 points at both
		{0.95, 0.90, 0.9, 0.6, notHolds},  // behind
		{0.95, 0.971, 0.6, 0.6, holds},    // just over 2 points
		{0.95, 0.969, 0.6, 0.6, notHolds}, // just under
	} {
		if got := controlVerdict(c.tTest, c.lTest, c.tLong, c.lLong); got != c.want {
			t.Errorf("controlVerdict(%v, %v, %v, %v) = %q, want %q", c.tTest, c.lTest, c.tLong, c.lLong, got, c.want)
		}
	}
}

func TestTwinVerdict(t *testing.T) {
	for _, c := range []struct {
		qkv, torch []float64
		want       string
	}{
		{[]float64{0.60, 0.90}, []float64{0.62, 0.88}, holds},
		{[]float64{0.60, 0.90}, []float64{0.66, 0.88}, notHolds}, // one model 6 points off
		{[]float64{0.60, 0.90}, []float64{0.649, 0.851}, holds},  // just under 5 points
		{nil, nil, notShown},
	} {
		if got := twinVerdict(c.qkv, c.torch); got != c.want {
			t.Errorf("twinVerdict(%v, %v) = %q, want %q", c.qkv, c.torch, got, c.want)
		}
	}
}
