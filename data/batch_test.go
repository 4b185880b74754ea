package data

import (
	"slices"
	"strings"
	"testing"
)

func TestMakeBatch(t *testing.T) {
	tests := []struct {
		name        string
		kind        Kind
		exs         []Example
		B, T        int
		inputs      []int
		targets     []int
		lengths     []int
		keyMask     []float64
		targetMask  []float64
		tokens, cnt int
	}{
		{
			name: "tagging with filler",
			kind: Tagging,
			exs:  []Example{{Input: []int{2, 3, 4}, Target: []int{4, 3, 2}}, {Input: []int{5}, Target: []int{Ignore}}},
			B:    3, T: 4,
			inputs:     []int{2, 3, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0},
			targets:    []int{4, 3, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1},
			lengths:    []int{3, 1, 0},
			keyMask:    []float64{1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0},
			targetMask: []float64{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			tokens:     4, cnt: 3,
		},
		{
			name: "classification",
			kind: Classification,
			exs:  []Example{{Input: []int{2, 2}, Target: []int{3}}, {Input: []int{3, 2, 3}, Target: []int{2}}},
			B:    3, T: 3,
			inputs:     []int{2, 2, 0, 3, 2, 3, 0, 0, 0},
			targets:    []int{3, 2, -1},
			lengths:    []int{2, 3, 0},
			keyMask:    []float64{1, 1, 0, 1, 1, 1, 0, 0, 0},
			targetMask: []float64{1, 1, 0},
			tokens:     5, cnt: 2,
		},
	}
	for _, tt := range tests {
		b, err := MakeBatch(tt.kind, tt.exs, tt.B, tt.T)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(b.Inputs, tt.inputs) || !slices.Equal(b.Targets, tt.targets) || !slices.Equal(b.Lengths, tt.lengths) {
			t.Errorf("%s: inputs %v targets %v lengths %v; want %v %v %v", tt.name, b.Inputs, b.Targets, b.Lengths, tt.inputs, tt.targets, tt.lengths)
		}
		if got := b.KeyMask(); !slices.Equal(got, tt.keyMask) {
			t.Errorf("%s: KeyMask = %v, want %v", tt.name, got, tt.keyMask)
		}
		tm := make([]float64, len(tt.targetMask))
		if err := b.FillTargetMask(tm); err != nil || !slices.Equal(tm, tt.targetMask) {
			t.Errorf("%s: FillTargetMask = %v, %v; want %v", tt.name, tm, err, tt.targetMask)
		}
		if b.Tokens() != tt.tokens || b.Counted() != tt.cnt {
			t.Errorf("%s: Tokens, Counted = %d, %d; want %d, %d", tt.name, b.Tokens(), b.Counted(), tt.tokens, tt.cnt)
		}
		in := make([]float64, tt.B*tt.T)
		tg := make([]float64, len(tt.targets))
		if b.FillInputs(in) != nil || b.FillTargets(tg) != nil {
			t.Fatalf("%s: fills failed", tt.name)
		}
		for i := range in {
			if in[i] != float64(tt.inputs[i]) {
				t.Fatalf("%s: FillInputs[%d] = %v, want %d", tt.name, i, in[i], tt.inputs[i])
			}
		}
		for i := range tg {
			if tg[i] != float64(tt.targets[i]) {
				t.Fatalf("%s: FillTargets[%d] = %v, want %d", tt.name, i, tg[i], tt.targets[i])
			}
		}
		const classes = 6
		oh := make([]float64, len(tt.targets)*classes)
		if err := b.FillOneHot(oh, classes); err != nil {
			t.Fatalf("%s: FillOneHot: %v", tt.name, err)
		}
		for i, tgt := range tt.targets {
			for c := range classes {
				want := 0.0
				if c == tgt {
					want = 1
				}
				if oh[i*classes+c] != want {
					t.Fatalf("%s: one-hot row %d = %v for target %d", tt.name, i, oh[i*classes:(i+1)*classes], tgt)
				}
			}
		}
		// A refill with fewer examples turns old rows into filler.
		if err := b.Fill(tt.exs[:1]); err != nil || b.Lengths[1] != 0 || b.Inputs[tt.T] != PadID || b.Counted() != min(tt.cnt, len(tt.exs[0].Target)) {
			t.Errorf("%s: refill left lengths %v inputs %v (err %v)", tt.name, b.Lengths, b.Inputs, err)
		}
	}
}

func TestMakeBatchErrors(t *testing.T) {
	ok := Example{Input: []int{2, 3}, Target: []int{2, 3}}
	tests := []struct {
		name string
		kind Kind
		exs  []Example
		B, T int
		want string
	}{
		{"too long", Tagging, []Example{ok, {Input: []int{2, 2, 2, 2, 2}, Target: []int{2, 2, 2, 2, 2}}}, 2, 4, "row 1: example has 5 tokens, batch holds T=4"},
		{"too many", Tagging, []Example{ok, ok, ok}, 2, 4, "3 examples for 2 rows"},
		{"empty", Tagging, []Example{{}}, 2, 4, "empty example"},
		{"tagging targets", Tagging, []Example{{Input: []int{2, 3}, Target: []int{2}}}, 2, 4, "1 targets for 2 tagging inputs"},
		{"classification targets", Classification, []Example{ok}, 2, 4, "2 targets, want 1"},
		{"bad kind", Kind(0), nil, 2, 4, "invalid kind"},
		{"bad shape", Tagging, nil, 0, 4, "not positive"},
	}
	for _, tt := range tests {
		_, err := MakeBatch(tt.kind, tt.exs, tt.B, tt.T)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: MakeBatch error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	b, _ := NewBatch(Tagging, 2, 3)
	if b.FillKeyMask(make([]float64, 5)) == nil || b.FillInputs(nil) == nil || b.FillOneHot(make([]float64, 5), 1) == nil {
		t.Error("fills into wrongly sized buffers succeeded")
	}
	if err := b.Fill([]Example{{Input: []int{2}, Target: []int{9}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.FillOneHot(make([]float64, 6*4), 4); err == nil {
		t.Error("FillOneHot with target 9 of 4 classes succeeded")
	}
}

func TestFillFromNoAlloc(t *testing.T) {
	for _, name := range TaskNames() {
		task, _ := NewTask(name, 8)
		s, err := NewSplits(task, SplitConfig{Seed: 1, MinLen: 4, MaxLen: 12, Val: 20, Test: 20})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewBatch(task.Kind(), 16, 12)
		checkFillFrom(t, name, b, s.Train(3), 4, 12)
	}
	exs := []Example{{Input: []int{2, 3, 4}, Target: []int{2}}, {Input: []int{3}, Target: []int{3}}}
	b, _ := NewBatch(Classification, 5, 3)
	checkFillFrom(t, "list", b, NewListSource(exs, 1), 1, 3)

	empty, _ := NewBatch(Classification, 2, 3)
	if err := empty.FillFrom(NewListSource(nil, 1)); err == nil {
		t.Error("FillFrom an empty list source succeeded")
	}
}

func checkFillFrom(t *testing.T, what string, b *Batch, src Source, lo, hi int) {
	t.Helper()
	if err := b.FillFrom(src); err != nil {
		t.Fatalf("%s: FillFrom: %v", what, err)
	}
	for i, n := range b.Lengths {
		if n < lo || n > hi {
			t.Fatalf("%s: row %d length %d outside [%d,%d]", what, i, n, lo, hi)
		}
		for j := n; j < b.T; j++ {
			if b.Inputs[i*b.T+j] != PadID || b.Kind == Tagging && b.Targets[i*b.T+j] != Ignore {
				t.Fatalf("%s: row %d position %d not padding", what, i, j)
			}
		}
	}
	mask := make([]float64, b.B*b.T)
	allocs := testing.AllocsPerRun(50, func() {
		if err := b.FillFrom(src); err != nil {
			t.Fatal(err)
		}
		if err := b.FillKeyMask(mask); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%s: FillFrom allocates %v times per batch, want 0", what, allocs)
	}
}
