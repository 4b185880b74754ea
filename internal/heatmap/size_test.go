package heatmap

import (
	"bytes"
	"image/png"
	"strconv"
	"testing"
)

// TestPictureBounded: a long input's picture stays within MaxPixels (a
// 500-token input drew 34167×17083 pixels and took 4.8 GB), while a short
// one keeps its natural size.
func TestPictureBounded(t *testing.T) {
	for _, n := range []int{8, 300} {
		toks := make([]string, n)
		att := make([][][][]float64, 2)
		for i := range toks {
			toks[i] = strconv.Itoa(i)
		}
		for l := range att {
			att[l] = make([][][]float64, 4)
			for h := range att[l] {
				m := make([][]float64, n)
				for q := range m {
					m[q] = make([]float64, n)
					m[q][(q+h)%n] = 1
				}
				att[l][h] = m
			}
		}
		b, err := Attention(att, toks).PNG()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		px := cfg.Width * cfg.Height
		t.Logf("%d tokens: %d×%d", n, cfg.Width, cfg.Height)
		if px > MaxPixels*101/100 {
			t.Errorf("%d tokens: %d×%d = %d pixels, over %d", n, cfg.Width, cfg.Height, px, MaxPixels)
		}
		if n == 8 && px > MaxPixels/4 {
			t.Errorf("8 tokens: %d×%d, want the natural size, far below the bound", cfg.Width, cfg.Height)
		}
	}
}
