package optim

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleLR(t *testing.T) {
	// Values computed by hand (cos 36° = (1+√5)/4) or with Python's math.
	tests := []struct {
		s    Schedule
		step int64
		want float64
	}{
		{Constant{Rate: 0.1}, 1, 0.1},
		{Constant{Rate: 0.1}, 1_000_000, 0.1},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 0, 0.25},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 1, 0.25},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 2, 0.5},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 4, 1},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 6, 0.1 + 0.9*(1+(1+math.Sqrt(5))/4)/2},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 9, 0.55},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 14, 0.1},
		{WarmupCosine{Peak: 1, Min: 0.1, Warmup: 4, Total: 14}, 15, 0.1},
		{WarmupCosine{Peak: 1, Min: 0, Warmup: 0, Total: 2}, 1, 0.5},
		{WarmupCosine{Peak: 1, Min: 0, Warmup: 0, Total: 2}, 2, 0},
		{WarmupCosine{Peak: 3e-4, Min: 3e-4, Warmup: 10, Total: 20}, 15, 3e-4},
		// Vaswani et al.: d_model 512, warmup 4000, scale 1.
		{InverseSqrt{DModel: 512, Warmup: 4000, Scale: 1}, 0, 1.746928107421711e-07},
		{InverseSqrt{DModel: 512, Warmup: 4000, Scale: 1}, 1, 1.746928107421711e-07},
		{InverseSqrt{DModel: 512, Warmup: 4000, Scale: 1}, 2000, 3.4938562148434216e-04},
		{InverseSqrt{DModel: 512, Warmup: 4000, Scale: 1}, 4000, 6.987712429686843e-04},
		{InverseSqrt{DModel: 512, Warmup: 4000, Scale: 1}, 16000, 3.4938562148434216e-04},
		{InverseSqrt{DModel: 64, Warmup: 100, Scale: 2}, 400, 2.0 / 8 / 20},
	}
	for _, tt := range tests {
		if got := tt.s.LR(tt.step); math.Abs(got-tt.want) > 1e-15*math.Abs(tt.want) {
			t.Errorf("%v.LR(%d) = %v, want %v", tt.s, tt.step, got, tt.want)
		}
	}
}

// TestScheduleMonotone checks the shape of each curve over its whole range.
func TestScheduleMonotone(t *testing.T) {
	tests := []struct {
		s          Schedule
		peakStep   int64
		peak, last float64
	}{
		{WarmupCosine{Peak: 1e-3, Min: 1e-5, Warmup: 100, Total: 1000}, 100, 1e-3, 1e-5},
		{InverseSqrt{DModel: 128, Warmup: 100, Scale: 1}, 100, 1 / math.Sqrt(128*100), 1 / math.Sqrt(128*1200)},
	}
	for _, tt := range tests {
		prev := 0.0
		for step := int64(1); step <= 1200; step++ {
			lr := tt.s.LR(step)
			if step <= tt.peakStep && lr <= prev || step > tt.peakStep && lr > prev {
				t.Fatalf("%v: LR(%d) = %v after %v", tt.s, step, lr, prev)
			}
			prev = lr
		}
		if got := tt.s.LR(tt.peakStep); math.Abs(got-tt.peak) > 1e-15*tt.peak {
			t.Errorf("%v: peak LR(%d) = %v, want %v", tt.s, tt.peakStep, got, tt.peak)
		}
		if math.Abs(prev-tt.last) > 1e-15*tt.last {
			t.Errorf("%v: LR(1200) = %v, want %v", tt.s, prev, tt.last)
		}
	}
}

func TestNewSchedule(t *testing.T) {
	tests := []struct {
		kind      string
		peak, min float64
		warmup    int64
		total     int64
		dModel    int
		want      Schedule
		wantErr   string
	}{
		{"constant", 1e-3, 0, 0, 0, 0, Constant{Rate: 1e-3}, ""},
		{"constant", 1e-3, 1e-5, 100, 1000, 64, Constant{Rate: 1e-3}, ""},
		{"cosine", 1e-3, 1e-5, 100, 1000, 0, WarmupCosine{Peak: 1e-3, Min: 1e-5, Warmup: 100, Total: 1000}, ""},
		{"cosine", 1e-3, 0, 0, 1, 0, WarmupCosine{Peak: 1e-3, Warmup: 0, Total: 1}, ""},
		{"noam", 1e-3, 0, 400, 0, 64, InverseSqrt{DModel: 64, Warmup: 400, Scale: 0.16}, ""},
		{"linear", 1e-3, 0, 0, 0, 0, nil, `unknown schedule "linear"`},
		{"", 1e-3, 0, 0, 0, 0, nil, "unknown schedule"},
		{"constant", 0, 0, 0, 0, 0, nil, "lr 0 must be finite and > 0"},
		{"constant", -1e-3, 0, 0, 0, 0, nil, "must be finite and > 0"},
		{"constant", math.Inf(1), 0, 0, 0, 0, nil, "must be finite and > 0"},
		{"constant", 1e-3, -1, 0, 0, 0, nil, "negative min lr"},
		{"cosine", math.NaN(), 0, 10, 100, 0, nil, "peak lr NaN"},
		{"cosine", 1e-3, 2e-3, 10, 100, 0, nil, "min lr 0.002 must be in [0, peak 0.001]"},
		{"cosine", 1e-3, 0, -1, 100, 0, nil, "negative"},
		{"cosine", 1e-3, 0, 100, 100, 0, nil, "total steps 100 must exceed warmup 100"},
		{"cosine", 1e-3, 0, 0, 0, 0, nil, "total steps 0 must exceed warmup 0"},
		{"noam", 1e-3, 0, 0, 0, 64, nil, "warmup 0 must be >= 1"},
		{"noam", 1e-3, 0, 400, 0, 0, nil, "d_model 0 must be >= 1"},
		{"noam", 0, 0, 400, 0, 64, nil, "peak lr 0 must be finite and > 0"},
	}
	for _, tt := range tests {
		got, err := NewSchedule(tt.kind, tt.peak, tt.min, tt.warmup, tt.total, tt.dModel)
		if !errorMatches(err, tt.wantErr) {
			t.Errorf("NewSchedule(%q, %v, %v, %d, %d, %d) error = %v, want error containing %q",
				tt.kind, tt.peak, tt.min, tt.warmup, tt.total, tt.dModel, err, tt.wantErr)
			continue
		}
		if tt.wantErr != "" {
			continue
		}
		if n, ok := got.(InverseSqrt); ok {
			// Scale is computed; compare it approximately, and the peak exactly enough.
			want := tt.want.(InverseSqrt)
			if n.DModel != want.DModel || n.Warmup != want.Warmup || math.Abs(n.Scale-want.Scale) > 1e-15 {
				t.Errorf("NewSchedule(%q, ...) = %#v, want %#v", tt.kind, got, tt.want)
			}
			if lr := n.LR(tt.warmup); math.Abs(lr-tt.peak) > 1e-15*tt.peak {
				t.Errorf("NewSchedule(%q, %v, ...).LR(warmup) = %v, want the peak", tt.kind, tt.peak, lr)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("NewSchedule(%q, ...) = %#v, want %#v", tt.kind, got, tt.want)
		}
	}
}

func TestScheduleString(t *testing.T) {
	tests := []struct {
		s    Schedule
		want string
	}{
		{Constant{Rate: 3e-4}, "constant(lr=0.0003)"},
		{WarmupCosine{Peak: 1e-3, Min: 1e-5, Warmup: 100, Total: 5000}, "cosine(peak=0.001, min=1e-05, warmup=100, total=5000)"},
		{InverseSqrt{DModel: 512, Warmup: 4000, Scale: 1}, "noam(d_model=512, warmup=4000, scale=1)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestScheduleFixtures checks the schedules against the learning rates
// PyTorch's LambdaLR gave the optimizer in the recorded runs.
func TestScheduleFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		s := f.schedule(t)
		if !strings.HasPrefix(s.String(), f.Schedule.Kind) {
			t.Errorf("%s: schedule %v, want kind %q", f.Name, s, f.Schedule.Kind)
		}
		for _, st := range f.Steps {
			if got := s.LR(st.Step); relErr(got, st.LR) > 1e-14 {
				t.Errorf("%s: %v.LR(%d) = %v, PyTorch used %v", f.Name, s, st.Step, got, st.LR)
			}
		}
	}
}
