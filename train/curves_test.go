package train

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// metricsDir writes a run directory whose metrics.jsonl is lines.
func metricsDir(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func trainLine(step int, loss, lr, norm string) string {
	return fmt.Sprintf(`{"step":%d,"loss":%s,"lr":%s,"grad_norm":%s,"tokens_per_sec":1000,"elapsed_sec":%d}`, step, loss, lr, norm, step)
}

func valLine(step int, loss, tok, seq string) string {
	return fmt.Sprintf(`{"step":%d,"eval_loss":%s,"eval_token_accuracy":%s,"eval_sequence_accuracy":%s}`, step, loss, tok, seq)
}

// fullRun is what a finished run logs: training every 50 steps, validation
// every 250, the test line last.
func fullRun() []string {
	var lines []string
	for s := 50; s <= 1000; s += 50 {
		lines = append(lines, trainLine(s, fmt.Sprint(2.5/float64(s)), fmt.Sprint(1e-3*(1-float64(s)/1100)), "0.8"))
		if s%250 == 0 {
			lines = append(lines, valLine(s, fmt.Sprint(2.0/float64(s)), fmt.Sprint(float64(s)/1000), fmt.Sprint(float64(s)/1200)))
		}
	}
	return append(lines, `{"step":1000,"best_step":1000,"test_loss":0.002,"test_token_accuracy":1,"test_sequence_accuracy":0.98}`)
}

// writeCurvesIn runs WriteCurves with a deadline, so a hang inside gonum
// (as an axis up to 1e308 once caused) fails this test by name instead of
// the whole package by timeout, and turns a panic into an error.
func writeCurvesIn(t *testing.T, dir, out string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("WriteCurves panicked: %v", r)
			}
		}()
		done <- WriteCurves(dir, out)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("WriteCurves(%s) still running after 60 s", dir)
		return nil
	}
}

// TestWriteCurves: every kind of metrics file a run can leave, and some a
// broken run or another tool can, gives a decodable PNG of sane size,
// without panicking or hanging.
func TestWriteCurves(t *testing.T) {
	full := fullRun()
	tests := []struct {
		name  string
		lines []string
	}{
		{"finished run", full},
		{"stopped before validation", full[:3]},
		{"single point", full[:1]},
		{"only a validation line", []string{valLine(250, "0.5", "0.9", "0.4")}},
		{"torn last line", append(full[:8:8], `{"step":300,"loss":0.0`)},
		{"garbage lines", append([]string{"", "not json", "[1,2]", `{"loss":1}`, `{"step":"x","loss":1}`}, full[:4]...)},
		{"non-finite as strings", append(full[:4:4], trainLine(250, `"NaN"`, `"+Inf"`, `"-Inf"`), trainLine(300, `"Infinity"`, "1e999", "-1e999"))},
		{"near the float64 limit", append(full[:4:4], trainLine(250, "1e308", "-1e308", "1.7976931348623157e308"), valLine(250, "1e308", "1e308", "-1e308"))},
		{"all absurd", []string{trainLine(50, "1e308", "1e308", "1e308"), trainLine(100, "-1e308", "-1e308", "1e300")}},
		{"tiny and zero values", []string{trainLine(50, "1e-300", "5e-324", "0"), trainLine(100, "1e-320", "1e-323", "0"), trainLine(150, "0", "0", "0")}},
		{"negative loss", []string{trainLine(50, "-1", "0.001", "1"), trainLine(100, "2", "0.001", "1")}},
		{"accuracy outside [0, 1]", []string{valLine(250, "0.5", "7", "-3"), valLine(500, "0.4", "0.5", "0.5")}},
		{"huge step", []string{`{"step":1e300,"loss":1}`, trainLine(50, "1", "1", "1")}},
		{"resumed, steps repeated", append(full[:6:6], full[3:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := metricsDir(t, tt.lines...)
			out := filepath.Join(t.TempDir(), "curves.png")
			if err := writeCurvesIn(t, dir, out); err != nil {
				t.Fatalf("WriteCurves: %v", err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decoding %s: %v", out, err)
			}
			if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 400 || w > 4000 || h < 300 || h > 4000 {
				t.Errorf("picture is %d×%d pixels", w, h)
			}
		})
	}
}

// TestWriteCurvesErrors: a missing or empty metrics file, or a file with
// no line holding a step, is an error naming that file; a picture that
// cannot be written is an error naming the user's path, not renameio's
// temporary file, and nothing is left behind.
func TestWriteCurvesErrors(t *testing.T) {
	missing := t.TempDir()
	empty := metricsDir(t)
	useless := metricsDir(t, "", "{", `{"loss":1}`)
	good := metricsDir(t, fullRun()...)
	noDir := filepath.Join(t.TempDir(), "absent", "curves.png")
	parent := t.TempDir()
	isDir := filepath.Join(parent, "curves.png")
	if err := os.Mkdir(isDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, out string
		want           []string
	}{
		{"missing", missing, filepath.Join(t.TempDir(), "c.png"), []string{filepath.Join(missing, "metrics.jsonl"), "no such file"}},
		{"empty", empty, filepath.Join(t.TempDir(), "c.png"), []string{filepath.Join(empty, "metrics.jsonl"), "holds no metrics"}},
		{"no steps", useless, filepath.Join(t.TempDir(), "c.png"), []string{filepath.Join(useless, "metrics.jsonl"), "holds no metrics"}},
		{"no such directory", good, noDir, []string{noDir + ": no such file or directory"}},
		{"a directory", good, isDir, []string{"curves " + isDir + ": is a directory"}},
	}
	for _, tt := range tests {
		err := writeCurvesIn(t, tt.dir, tt.out)
		if err == nil {
			t.Errorf("%s: WriteCurves succeeded", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), ".tmp") || strings.Count(err.Error(), tt.out) > 1 {
			t.Errorf("%s: error %q names a temporary file or repeats the path", tt.name, err)
		}
	}
	if left, _ := os.ReadDir(parent); len(left) != 1 {
		t.Errorf("a failed write left %d entries beside %s", len(left)-1, isDir)
	}
}

// TestLogTicks: every tick lies on the axis, below 0.01 too (gonum's
// LogTicks draws none there on 0.002–0.05), and a narrow axis has more
// than one label.
func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		labels []string
	}{
		{0.002, 0.05, []string{"0.002", "0.005", "0.01", "0.02", "0.05"}},
		{0.6, 2.7, []string{"1", "2"}},
		{1e-5, 10, []string{"1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10"}},
		{3e-300, 3e-288, []string{"1e-299", "1e-298", "1e-297", "1e-296", "1e-295", "1e-294", "1e-293", "1e-292", "1e-291", "1e-290", "1e-289", "1e-288"}},
	}
	for _, tt := range tests {
		var labels []string
		for _, tk := range (logTicks{}).Ticks(tt.lo, tt.hi) {
			if tk.Value < tt.lo || tk.Value > tt.hi {
				t.Errorf("Ticks(%g, %g): tick %g off the axis", tt.lo, tt.hi, tk.Value)
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got, want := strings.Join(labels, " "), strings.Join(tt.labels, " "); got != want {
			t.Errorf("Ticks(%g, %g) labels %q, want %q", tt.lo, tt.hi, got, want)
		}
	}
}
