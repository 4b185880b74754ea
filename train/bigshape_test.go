package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBigShapesRefused checks that a run whose graphs cannot fit in memory
// stops before building anything, with the size it needs and the setting
// to lower, and leaves no run directory. Before this check, -len 100000
// died with "fatal error: out of memory" and a dump of every goroutine,
// and a data file with one 1M-token line was killed at 11 GB.
func TestBigShapesRefused(t *testing.T) {
	if _, ok := memAvailable(); !ok {
		t.Skip("no /proc/meminfo: the check is off")
	}
	dir := t.TempDir()
	long := filepath.Join(dir, "long.tsv")
	var b strings.Builder
	b.WriteString(strings.Repeat("a ", 200000) + "\t" + strings.Repeat("b ", 200000) + "\n")
	for _, w := range []string{"c d", "d e", "e f", "f g"} {
		b.WriteString(w + "\t" + w + "\n")
	}
	if err := os.WriteFile(long, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	task := tinyConfig(t, "reverse")
	task.Len, task.Out = 100000, filepath.Join(dir, "task")
	batch := tinyConfig(t, "reverse")
	batch.Batch, batch.Len, batch.Out = 1000000, 12, filepath.Join(dir, "batch")
	file := tinyConfig(t, "reverse")
	file.Task, file.Data, file.Len, file.Out = "", long, 0, filepath.Join(dir, "file")
	for _, tt := range []struct {
		name        string
		cfg         Config
		want, lower string
	}{
		{"len 100000", task, "one sequence of length 100000", "-len"},
		{"a 200000-token line", file, "one sequence of length 200000", "shorten the data's longest lines"},
		{"batch 1000000", batch, "batches of 1000000 sequences of length 12 need about", "-batch"},
	} {
		_, err := New(tt.cfg)
		var se *SettingError
		asFlags := func(key string, dash bool) string { return map[bool]string{true: "-"}[dash] + key }
		if !errors.Is(err, ErrGraphTooLarge) || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &se) || !strings.Contains(se.Render(asFlags), tt.lower) {
			t.Errorf("%s: New error %v, want ErrGraphTooLarge saying %q and %q", tt.name, err, tt.want, tt.lower)
		}
		if _, err := os.Stat(tt.cfg.Out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: refused run left %s behind (stat: %v)", tt.name, tt.cfg.Out, err)
		}
	}
}
