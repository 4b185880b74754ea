package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLSTMRun checks -model lstm through the command: it trains, says its
// parameter count, records its architecture, resumes, and refuses the
// transformer's settings instead of ignoring them.
func TestLSTMRun(t *testing.T) {
	work := t.TempDir()
	run := filepath.Join(work, "run")
	args := []string{"-task", "copy", "-model", "lstm", "-d-model", "16", "-layers", "1", "-steps", "20", "-eval-every", "10", "-save-every", "10", "-out", run}
	r := mustTrain(t, work, args...)
	m := regexp.MustCompile(`model: lstm, (\d+) parameters`).FindStringSubmatch(r.stderr)
	// embedding 12×16, one bidirectional layer 2·(4·16·(16+16) + 8·16),
	// head 32×12 + 12: 192 + 4352 + 396
	if m == nil || m[1] != "4940" {
		t.Errorf("stderr does not say \"model: lstm, 4940 parameters\":\n%s", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(run, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Model      string `json:"model"`
		Directions int    `json:"directions"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Model != "lstm" || cfg.Directions != 2 {
		t.Errorf("config.json model %q, directions %d (%v); want lstm, 2", cfg.Model, cfg.Directions, err)
	}
	if r := mustTrain(t, work, "-resume", run, "-steps", "30"); !strings.Contains(r.stdout, "held-out test") {
		t.Errorf("resume printed no result:\n%s", r.stdout)
	}

	tr := mustTrain(t, work, "-task", "copy", "-steps", "2", "-out", filepath.Join(work, "tr"))
	if !strings.Contains(tr.stderr, "model: transformer, ") {
		t.Errorf("a transformer run does not say its parameter count:\n%s", tr.stderr)
	}
	// The default run has weight decay 0: it is Adam, and says so.
	if !strings.Contains(tr.stderr, "\noptimizer: Adam, lr ") {
		t.Errorf("a run without weight decay does not say it trains with Adam:\n%s", tr.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "tr", "config.json")); strings.Contains(string(b), `"model"`) || strings.Contains(string(b), `"directions"`) {
		t.Errorf("a transformer's config.json names model or directions, unlike every earlier run's:\n%s", b)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "lstm", "-heads", "2"}, "-heads is a transformer setting"},
		{[]string{"-model", "lstm", "-pos", "learned"}, "-pos is a transformer setting"},
		{[]string{"-model", "lstm", "-directions", "3"}, "directions must be 1 or 2"},
		{[]string{"-directions", "1"}, "unset for a transformer"},
		{[]string{"-model", "rnn"}, `unknown model "rnn"`},
	} {
		checkUsageError(t, runTrain(t, work, append(tt.args, "-out", filepath.Join(work, "bad"))...), tt.want)
	}
}
