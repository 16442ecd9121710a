package augment

import (
	"slices"
	"testing"
)

// TestStrokeAndBlur: thickening adds ink and thinning removes some without erasing a
// thin stroke; blur keeps the ink's total and spreads it.
func TestStrokeAndBlur(t *testing.T) {
	const w, h = 12, 12
	img := make([]uint8, w*h)
	for y := 2; y < 10; y++ {
		img[y*w+5], img[y*w+6] = 255, 200 // a vertical stroke two pixels wide
	}
	sum := func(p []uint8) (s int) {
		for _, v := range p {
			s += int(v)
		}
		return s
	}
	tmp := make([]uint8, w*h)
	thick, thin := slices.Clone(img), slices.Clone(img)
	stroke(thick, w, h, 1, tmp)
	stroke(thin, w, h, -0.7, tmp)
	if sum(thick) <= sum(img) || sum(thin) >= sum(img) {
		t.Errorf("ink %d; thickened %d, thinned %d: want more, then less", sum(img), sum(thick), sum(thin))
	}
	if thin[5*w+5] == 0 {
		t.Error("thinning erased a two-pixel stroke")
	}
	if thick[5*w+4] == 0 || thick[5*w+7] == 0 {
		t.Error("thickening did not widen the stroke by a pixel on each side")
	}
	blurred := slices.Clone(img)
	blur(blurred, w, h, 1, make([]float32, w*h), make([]float32, w*h))
	if d := sum(blurred) - sum(img); d < -60 || d > 60 || blurred[5*w+3] == 0 || blurred[5*w+5] >= 255 {
		t.Errorf("blur: ink %d → %d, beside the stroke %d, on it %d; want the same ink spread out", sum(img), sum(blurred), blurred[5*w+3], blurred[5*w+5])
	}
}
