package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// fileMetrics, in a run directory, holds a JSON object a line: the
// training, validation and test metrics by step.
const fileMetrics = "metrics.jsonl"

// openMetrics opens metrics.jsonl for appending, first dropping any line
// logged after the step being resumed from (a killed run may have logged
// past its last checkpoint), so a resumed run's file equals an
// uninterrupted one's.
func (t *Trainer) openMetrics() error {
	path := filepath.Join(t.dir, fileMetrics)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("train: %w", err)
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var line struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Step == nil {
			break // a torn last line from a kill
		}
		if *line.Step > t.st.Step || t.st.Step == 0 {
			break
		}
		if bytes.Contains(sc.Bytes(), []byte(`"test_loss"`)) {
			continue // a finished run's test line; resuming extends the run
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := writeDurable(path, kept.Bytes()); err != nil {
		return err
	}
	t.metrics, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

func (t *Trainer) logLine(v map[string]any) error {
	if t.metrics == nil { // Fit in memory
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	if _, err := t.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	return nil
}

// round keeps timing fields readable.
func round(x float64) float64 { return math.Round(x*10) / 10 }
