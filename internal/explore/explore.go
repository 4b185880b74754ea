// Package explore writes the attention explorer: one self-contained HTML
// page, with its data inlined and its script and style embedded from
// assets/ (go:embed), that opens from a file with no network request.
//
// The page shows what qkv computed and runs no model: for each example, a
// head view and a model view of the attention weights in the manner of
// BertViz (Vig, 2019, "A Multiscale Visualization of Attention in the
// Transformer Model"), a Q·K view of one query's arithmetic (q_i, k_j,
// their product, the scaled score, the softmax weight), a summary per head
// (alignment with the task, entropy), and, for runs that recorded it
// (train.ProbesFile), a slider through the probe set's weights during
// training. An LSTM's page shows gradient saliency (train.GradientProbe)
// in the same views.
package explore

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

//go:embed assets/explore.js
var script string

//go:embed assets/explore.css
var style string

// Page is everything the explorer shows. Weights are little-endian
// float32 arrays in base64, laid out [layer][head][query][key]; queries
// and keys [layer][head][position][d_k].
type Page struct {
	Title      string     `json:"title"`
	Checkpoint string     `json:"checkpoint"`
	Step       int        `json:"step"`
	Task       string     `json:"task"`
	Kind       string     `json:"kind"` // train.ProbeAttention or train.ProbeSaliency
	Layers     int        `json:"layers"`
	Heads      int        `json:"heads"`
	DK         int        `json:"dk"` // d_k; 0 for saliency, which has no queries and keys
	Examples   []Example  `json:"examples"`
	Alignment  *Alignment `json:"alignment,omitempty"`
	History    *History   `json:"history,omitempty"`
}

// Example is one input sequence with what the checkpoint does with it.
type Example struct {
	Label     string   `json:"label"`
	Tokens    []string `json:"tokens"`
	Target    []string `json:"target,omitempty"` // "_" where nothing is scored; none for -input
	Predicted []string `json:"predicted"`
	Correct   *bool    `json:"correct,omitempty"`
	Probe     int      `json:"probe"` // its index in History.Examples, or −1
	Weights   string   `json:"weights"`
	Q         string   `json:"q,omitempty"`
	K         string   `json:"k,omitempty"`
}

// Alignment is every head's score against the task's alignment rule, as
// qkv-eval computes it (train.MeasureAlignment) over a held-out split.
type Alignment struct {
	Split     string      `json:"split"`
	Scores    [][]float64 `json:"scores"` // [layer][head]
	Chance    float64     `json:"chance"`
	Positions int         `json:"positions"`
}

// History is a run's probe set during training (train.ReadProbes): the
// steps, the validation metrics at each, and the weights, one byte per
// weight (b/255), record after record, each laid out example by example
// as [layer][head][query][key].
type History struct {
	Steps            []int     `json:"steps"`
	Loss             []float32 `json:"loss"`
	TokenAccuracy    []float32 `json:"token_accuracy"`
	SequenceAccuracy []float32 `json:"sequence_accuracy"`
	Examples         []string  `json:"examples"` // each probe example's tokens, space-separated
	Weights          string    `json:"weights"`  // base64
}

// Float32s encodes xs, in order, as the page's base64 float32 arrays.
func Float32s(xs ...[]float64) string {
	var b []byte
	for _, x := range xs {
		for _, v := range x {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		}
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Flatten lists w [a][b][c][d] in order.
func Flatten(w [][][][]float64) []float64 {
	var out []float64
	for _, x := range w {
		for _, y := range x {
			for _, z := range y {
				out = append(out, z...)
			}
		}
	}
	return out
}

// Write writes p as one HTML document: the style, the data as JSON in a
// script element of its own, then the script. json.Marshal escapes <, >
// and &, so no token can close the element it sits in.
func Write(w io.Writer, p *Page) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("explore: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	// Nothing may be fetched: no connection of any kind, images only from
	// the page itself (data: and blob: URLs, which export draws through).
	b.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", htmlEscape(p.Title), style)
	fmt.Fprintf(&b, "<script id=\"qkv-data\" type=\"application/json\">%s</script>\n", data)
	fmt.Fprintf(&b, "<script>\n%s</script>\n</body>\n</html>\n", script)
	_, err = w.Write(b.Bytes())
	return err
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
