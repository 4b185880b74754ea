package heatmap

import (
	"bytes"
	"image/png"
	"math"
	"strconv"
	"testing"

	"gonum.org/v1/plot/vg/vgimg"
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

// TestTileSideThreshold tests the bound on both sides of MaxPixels: tiles
// whose natural size holds MaxPixels or fewer pixels in all keep it, and
// one more token, which takes them past, shrinks them to MaxPixels.
func TestTileSideThreshold(t *testing.T) {
	pixels := func(n, tiles int, limit float64) float64 {
		px := float64(tileSide(n, tiles, limit).Dots(vgimg.DefaultDPI))
		return px * px * float64(tiles)
	}
	natural := func(n, tiles int) float64 { return pixels(n, tiles, math.Inf(1)) }
	for _, tiles := range []int{1, 8, 48} {
		// The longest input whose natural picture fits the bound.
		n := 1
		for natural(n+1, tiles) <= MaxPixels {
			n++
		}
		if got := pixels(n, tiles, MaxPixels); got != natural(n, tiles) {
			t.Errorf("%d tiles, %d tokens: %.0f pixels, want the natural %.0f (at most %d)", tiles, n, got, natural(n, tiles), MaxPixels)
		}
		over := natural(n+1, tiles)
		if got := pixels(n+1, tiles, MaxPixels); got > MaxPixels*1.0001 || got < MaxPixels*0.999 {
			t.Errorf("%d tiles, %d tokens: %.0f pixels (natural %.0f), want %d", tiles, n+1, got, over, MaxPixels)
		}
	}
}

// TestPictureBoundedLowLimit draws, under a limit lowered to a quarter of
// a million pixels, a picture whose natural size is several times that:
// the PNG must come out within the limit, its aspect kept. (At MaxPixels
// the same check needs a gigabyte-sized picture without the bound.)
func TestPictureBoundedLowLimit(t *testing.T) {
	const n, limit = 24, 1 << 18
	toks := make([]string, n)
	m := make([][]float64, n)
	for i := range toks {
		toks[i] = strconv.Itoa(i)
		m[i] = make([]float64, n)
		m[i][i] = 1
	}
	att := [][][][]float64{{m, m}, {m, m}}
	p := Attention(att, toks)
	p.maxPixels = math.Inf(1)
	big, err := p.PNG()
	if err != nil {
		t.Fatal(err)
	}
	p.maxPixels = limit
	small, err := p.PNG()
	if err != nil {
		t.Fatal(err)
	}
	size := func(b []byte) (int, int) {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Width, cfg.Height
	}
	bw, bh := size(big)
	sw, sh := size(small)
	if bw*bh < 3*limit {
		t.Fatalf("natural picture %d×%d: want one well over the limit %d to test it", bw, bh, limit)
	}
	if sw*sh > limit*101/100 || sw*sh < limit*95/100 || sw != sh {
		t.Errorf("under a limit of %d pixels: %d×%d (natural %d×%d), want a square of about the limit", limit, sw, sh, bw, bh)
	}
}
