package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Results is everything the study measured: results.json.
type Results struct {
	Study       string     `json:"study"` // reportMarker
	Scale       string     `json:"scale"` // full or quick
	Seed        uint64     `json:"seed"`
	Cores       int        `json:"cores"`        // CPUs the timings ran on
	Machine     string     `json:"machine"`      // OS, architecture and CPU model
	Load        [2]float64 `json:"load_average"` // the 1-minute load average at the start and the end
	WallSeconds float64    `json:"wall_seconds"` // the whole study, report included
	Models      []Match    `json:"models"`       // the parameter counts compared, per task
	Workers     int        `json:"workers"`      // training runs at a time
	Optimizer   string     `json:"optimizer"`    // what every run trains with, as cmd/train names it
	Clip        float64    `json:"clip"`         // the global gradient norm every run clips to
	LRs         []float64  `json:"lrs"`          // the learning rates every sweep tries
	ExtendEdges bool       `json:"extend_edges"` // a best rate at an edge of lrs is tried one step beyond
	Seeds       int        `json:"seeds"`        // seeds of every final configuration
	Tuning      []Tuning   `json:"tuning"`       // every sweep and what it chose

	LongRange        LongRange         `json:"long_range"`
	Gradients        Gradients         `json:"gradients"`
	Parallelism      Parallelism       `json:"parallelism"`
	Interpretability []Interpretation  `json:"interpretability"`
	NegativeControl  NegativeControl   `json:"negative_control"`
	Length           []LengthGen       `json:"length_generalisation"`
	CrossCheck       CrossCheck        `json:"cross_check"`
	Verdicts         []Verdict         `json:"verdicts"`
	Plots            map[string]string `json:"plots"` // file → what it shows
}

// Match is the two models compared on one task and their sizes.
type Match struct {
	Task              string  `json:"task"`
	TransformerParams int     `json:"transformer_params"`
	LSTMParams        int     `json:"lstm_params"`
	LSTMHidden        int     `json:"lstm_hidden"`
	RelDiff           float64 `json:"rel_diff"` // (lstm − transformer) / transformer
}

// Accuracy is held-out accuracy of the two models: the median over seeds
// and, where several seeds trained, each seed's value.
type Accuracy struct {
	Transformer      float64   `json:"transformer"`
	LSTM             float64   `json:"lstm"`
	TransformerSeeds []float64 `json:"transformer_seeds,omitempty"`
	LSTMSeeds        []float64 `json:"lstm_seeds,omitempty"`
}

// Tuning is one learning-rate sweep: the validation score of each rate at
// the study's seed and the rate chosen.
type Tuning struct {
	Task     string    `json:"task"`
	Model    string    `json:"model"`
	Grid     []float64 `json:"grid"`      // the rates swept first
	Extended float64   `json:"extended"`  // the rate tried beyond the grid's edge, or 0
	LRs      []float64 `json:"lrs"`       // every rate tried, ascending
	Val      []float64 `json:"val_score"` // validation token accuracy (on scored targets), by rate
	ValLoss  []float64 `json:"val_loss"`
	Chosen   float64   `json:"chosen_lr"`
	Edge     bool      `json:"edge"` // the chosen rate is the smallest or largest of lrs
}

// LongRange is experiment 1: held-out token accuracy on lag<k>.
type LongRange struct {
	Steps        int        `json:"steps"`
	TestExamples int        `json:"test_examples"`
	Points       []LagPoint `json:"points"`
}

// LagPoint is one distance k.
type LagPoint struct {
	K        int      `json:"k"`
	MinLen   int      `json:"min_len"`
	MaxLen   int      `json:"max_len"`
	Token    Accuracy `json:"token_accuracy"`
	Sequence Accuracy `json:"sequence_accuracy"`
}

// Gradients is experiment 2: mean ‖∂L_j/∂x_i‖ by distance j − i.
type Gradients struct {
	Task     string      `json:"task"`
	Length   int         `json:"length"`
	Examples int         `json:"examples"`
	Curves   []GradCurve `json:"curves"`
}

// GradCurve is one model at one stage.
type GradCurve struct {
	Model     string    `json:"model"` // transformer or lstm
	Stage     string    `json:"stage"` // init or trained
	Distance  []int     `json:"distance"`
	MeanNorm  []float64 `json:"mean_norm"`
	NearNorm  float64   `json:"near_norm"`   // mean over |j − i| <= 1
	FarNorm   float64   `json:"far_norm"`    // mean over |j − i| >= length/2
	FarToNear float64   `json:"far_to_near"` // far_norm / near_norm
}

// Parallelism is experiment 3: time per training step and sequential
// depth against length.
type Parallelism struct {
	Batch  int         `json:"batch"`
	Reps   int         `json:"reps"`
	Task   string      `json:"task"`
	Points []TimePoint `json:"points"`
}

// TimePoint is one length T.
type TimePoint struct {
	T                int    `json:"t"`
	Transformer      timing `json:"transformer_ms"`
	LSTM             timing `json:"lstm_ms"`
	TransformerDepth int    `json:"transformer_depth"`
	LSTMDepth        int    `json:"lstm_depth"`
}

// Interpretation is experiment 4 on one task.
type Interpretation struct {
	Task      string      `json:"task"`
	Steps     int         `json:"steps"`
	Examples  int         `json:"examples"` // held-out examples scored
	Sequence  Accuracy    `json:"sequence_accuracy"`
	Token     Accuracy    `json:"token_accuracy"`
	Scores    [][]float64 `json:"attention_scores"` // [layer][head]
	Chance    float64     `json:"chance"`
	BestLayer int         `json:"best_layer"`
	BestHead  int         `json:"best_head"`
	Best      float64     `json:"best_score"`
	// Saliency scores the row-normalised gradient norms of experiment 2
	// against the same rule: the one reading both models allow.
	Saliency  Accuracy `json:"saliency_scores"`
	Positions int      `json:"positions"` // query positions scored
}

// NegativeControl is experiment 5: running parity by length.
type NegativeControl struct {
	Task        string        `json:"task"`
	Steps       int           `json:"steps"`
	TrainMinLen int           `json:"train_min_len"`
	TrainMaxLen int           `json:"train_max_len"`
	Test        Accuracy      `json:"test_token_accuracy"` // held-out, trained lengths
	Points      []ParityPoint `json:"points"`
}

// ParityPoint is token accuracy on sequences of one length.
type ParityPoint struct {
	Len      int      `json:"len"`
	Token    Accuracy `json:"token_accuracy"`
	Sequence Accuracy `json:"sequence_accuracy"`
}

// LengthGen is experiment 6 on one task: trained on lengths up to
// TrainMaxLen, tested at that length and longer.
type LengthGen struct {
	Task        string        `json:"task"`
	Steps       int           `json:"steps"`
	TrainMinLen int           `json:"train_min_len"`
	TrainMaxLen int           `json:"train_max_len"`
	Points      []ParityPoint `json:"points"`
}

// CrossCheck is experiment 7: qkv's models beside PyTorch twins trained on
// the same files with the same recipe.
type CrossCheck struct {
	Setting string      `json:"setting"`
	Torch   string      `json:"torch"`   // the PyTorch version that trained the twins
	MadeBy  string      `json:"made_by"` // the command that wrote the twins' numbers
	Models  []TwinModel `json:"models"`
}

// TwinModel is one model of the cross-check on both sides.
type TwinModel struct {
	Model   string  `json:"model"`
	Params  int     `json:"params"`
	TorchLR float64 `json:"torch_lr"`
	QKVLR   float64 `json:"qkv_lr"`
	QKV     Spread  `json:"qkv_test_accuracy"`
	Torch   Spread  `json:"torch_test_accuracy"`
}

// Spread is a median over seeds and each seed's value.
type Spread struct {
	Median float64   `json:"median"`
	Seeds  []float64 `json:"seeds"`
}

// Verdict is one claim and what the numbers say of it.
type Verdict struct {
	Claim    string `json:"claim"`
	Verdict  string `json:"verdict"` // holds, partly, does not hold
	Evidence string `json:"evidence"`
}

func numCPU() int { return runtime.GOMAXPROCS(0) }

// machine names the OS, the architecture and, where /proc/cpuinfo says,
// the CPU model.
func machine() string {
	m := runtime.GOOS + "/" + runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return m + ", " + strings.TrimSpace(v)
			}
		}
	}
	return m
}

// loadAverage is the 1-minute load average where /proc/loadavg gives it,
// else −1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	x, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return x
}
