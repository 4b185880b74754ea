package heatmap

import (
	"bytes"
	"image/png"
	"testing"
)

func TestPNG(t *testing.T) {
	w := [][]float64{{1, 0, 0}, {0.5, 0.5, 0}, {0.2, 0.3, 0.5}}
	b, err := Attention([][][][]float64{{w, w}, {w, w}}, []string{"a", "b", "c"}).PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() <= r.Dy()/2 || r.Dy() < 100 {
		t.Errorf("a 2×2 grid drawn %v", r)
	}
	for name, p := range map[string]Picture{
		"empty":      {},
		"ragged":     {Maps: [][][][]float64{{w, w}, {w}}, Tokens: []string{"a", "b", "c"}},
		"not square": {Maps: [][][][]float64{{{{1, 0}}}}, Tokens: []string{"a", "b"}},
	} {
		if _, err := p.PNG(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
