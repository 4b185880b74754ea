package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qkv-dev/qkv/train"
)

// twinJSON is what scripts/lstm_twin.py -study measured: PyTorch's twins
// of the study's two models on the cross-check's files. The study reads
// it and never runs Python.
//
//go:embed testdata/twin.json
var twinJSON []byte

// twinResults is twinJSON's schema.
type twinResults struct {
	MadeBy  string `json:"made_by"`
	Torch   string `json:"torch"`
	Setting struct {
		Task           string  `json:"task"`
		Len            int     `json:"len"`
		Symbols        int     `json:"symbols"`
		Train          int     `json:"train"`
		Val            int     `json:"val"`
		Test           int     `json:"test"`
		Steps          int     `json:"steps"`
		Batch          int     `json:"batch"`
		Warmup         int     `json:"warmup"`
		MinLR          float64 `json:"min_lr"`
		Beta2          float64 `json:"beta2"`
		Clip           float64 `json:"clip"`
		LossOnFiller   bool    `json:"loss_on_filler"`
		LSTMHidden     int     `json:"lstm_hidden"`
		LSTMDirections int     `json:"lstm_directions"`
		Transformer    struct {
			DModel int `json:"d_model"`
			Heads  int `json:"heads"`
			Layers int `json:"layers"`
			DFF    int `json:"d_ff"`
		} `json:"transformer"`
	} `json:"setting"`
	Results []struct {
		Model  string    `json:"model"`
		LR     float64   `json:"lr"`
		Params int       `json:"params"`
		Test   []float64 `json:"test_token_accuracy"`
		Median float64   `json:"median"`
	} `json:"results"`
}

// loadTwins parses twinJSON and checks that it was made for the setting
// and the models the study trains now.
func loadTwins(lstmHidden int) (*twinResults, error) {
	var tw twinResults
	if err := json.Unmarshal(twinJSON, &tw); err != nil {
		return nil, fmt.Errorf("testdata/twin.json: %w", err)
	}
	st, t := tw.Setting, tw.Setting.Transformer
	d := train.Default()
	if st.Task != fmt.Sprintf("lag%d", twinK) || st.Len != twinLen || st.Symbols != twinSymbols || st.Train != twinTrain || st.Val != twinVal || st.Test != twinTest ||
		st.Steps != twinSteps || st.Batch != d.Batch || st.MinLR != d.MinLR || st.Beta2 != d.Beta2 || st.Clip != d.Clip || !st.LossOnFiller ||
		st.LSTMHidden != lstmHidden || st.LSTMDirections != 2 || t.DModel != tDModel || t.Heads != tHeads || t.Layers != tLayers || t.DFF != tDFF ||
		len(tw.Results) != 2 {
		return nil, fmt.Errorf("testdata/twin.json was made for another setting or other models than the study's (LSTM hidden size %d); rerun scripts/lstm_twin.py -study", lstmHidden)
	}
	return &tw, nil
}

// crossCheck is experiment 7: the study's transformer and LSTM trained
// on the cross-check's files (writeTwinData) with the study's recipe,
// beside the PyTorch twins that scripts/lstm_twin.py trained on the same
// files with the same recipe. The full study sweeps and seeds as for
// every task; -quick trains one seed at the rate PyTorch's sweep chose.
func (s *study) crossCheck(res *Results, pics map[string][]byte) error {
	p := s.progress("7 PyTorch cross-check", 2)
	defer p.Done()
	// The LSTM's size is matched on the generated task the files hold.
	tc := s.transformer(fmt.Sprintf("lag%d", twinK), s.sc.TwinSteps)
	tc.Symbols, tc.MinLen, tc.Len = twinSymbols, twinLen, twinLen
	lc, _, err := s.lstm(tc)
	if err != nil {
		return err
	}
	tw, err := loadTwins(lc.DModel)
	if err != nil {
		return err
	}
	dir := filepath.Join(s.runs, "twin-data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := writeTwinData(dir); err != nil {
		return err
	}
	cc := &res.CrossCheck
	cc.Setting = fmt.Sprintf("lag%d at length %d over %d symbols, %d training lines, %d steps", twinK, twinLen, twinSymbols, twinTrain, tc.Steps)
	cc.Torch, cc.MadeBy = tw.Torch, tw.MadeBy
	// Scored targets only: a file spells the unscored ones twinFiller.
	scored := func(m train.Metrics) float64 {
		pa := m.PositionAccuracy[min(twinK, len(m.PositionAccuracy)):]
		if len(pa) == 0 {
			return 0
		}
		var sum float64
		for _, a := range pa {
			sum += a
		}
		return sum / float64(len(pa))
	}
	var cs [2]train.Config
	var sws [2]sweep
	// Scored on the validation file's scored targets. The full study
	// sweeps PyTorch's grid and no further: the twins did not extend theirs.
	valScore := func(t *trained) float64 { return scored(t.val) }
	for i, c := range []train.Config{tc, lc} {
		c.Task, c.Symbols, c.MinLen, c.Len = "", 0, train.Default().MinLen, 0
		c.Data, c.Val, c.Test = filepath.Join(dir, twinFiles[0]), filepath.Join(dir, twinFiles[1]), filepath.Join(dir, twinFiles[2])
		c.ValExamples, c.TestExamples = train.Default().ValExamples, train.Default().TestExamples
		twin := tw.Results[i]
		if twin.Model != modelNames[i] {
			return fmt.Errorf("testdata/twin.json: model %d is %q, want %q", i, twin.Model, modelNames[i])
		}
		cs[i], sws[i] = c, sweep{lrs: s.sc.LRs, seeds: s.sc.Seeds, score: valScore}
		if !s.sc.TwinSweep {
			sws[i] = sweep{lrs: []float64{twin.LR}, seeds: 1, score: valScore}
		}
	}
	fits, err := s.fitEach(cs, sws)
	if err != nil {
		return err
	}
	for i, f := range fits {
		twin := tw.Results[i]
		m := TwinModel{Model: modelNames[i], Params: f.runs[0].model.NumParams(), TorchLR: twin.LR, QKVLR: f.tuning.Chosen,
			Torch: Spread{Median: twin.Median, Seeds: twin.Test}}
		m.QKV.Median, m.QKV.Seeds = f.medians(func(t *trained) float64 { return scored(t.test) })
		cc.Models = append(cc.Models, m)
		p.Step(fmt.Sprintf("%s: qkv %.1f%%, PyTorch %.1f%%", m.Model, 100*m.QKV.Median, 100*m.Torch.Median))
	}
	return nil
}
