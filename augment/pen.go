package augment

import "math"

// The pen and the focus: digits written with another pen than MNIST's writers used
// (a fine ballpoint, a fat marker) have thinner or thicker strokes, and photographed
// ones softer edges. Stroke and Blur (Config) vary both.

// stroke thickens (t > 0) or thins (t < 0) the strokes of img (w×h): each pixel moves a
// fraction |t| of the way to the largest (for thickening) or smallest (thinning) value
// of its 3×3 neighbourhood, a grey-level dilation or erosion by one pixel at |t| = 1.
// Thinning by a partial erosion keeps a stroke of one or two pixels from vanishing.
func stroke(img []uint8, w, h int, t float64, tmp []uint8) {
	if t == 0 {
		return
	}
	copy(tmp, img)
	grow := t > 0
	a := math.Abs(t)
	for y := range h {
		for x := range w {
			v := tmp[y*w+x]
			m := v
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					if !grow {
						m = 0 // outside is background
					}
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						if !grow {
							m = 0
						}
						continue
					}
					if u := tmp[yy*w+xx]; grow && u > m || !grow && u < m {
						m = u
					}
				}
			}
			img[y*w+x] = uint8(math.Round(float64(v) + a*(float64(m)-float64(v))))
		}
	}
}

// blur smooths img (w×h) with a Gaussian of sigma pixels, separably, background beyond
// the border.
func blur(img []uint8, w, h int, sigma float64, row, col []float32) {
	if sigma < 0.2 {
		return
	}
	r := int(math.Ceil(2.5 * sigma))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := -r; i <= r; i++ {
		k[i+r] = float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		sum += k[i+r]
	}
	for i := range k {
		k[i] /= sum
	}
	for y := range h { // along rows into row
		for x := range w {
			var s float32
			for i := -r; i <= r; i++ {
				if xx := x + i; xx >= 0 && xx < w {
					s += k[i+r] * float32(img[y*w+xx])
				}
			}
			row[y*w+x] = s
		}
	}
	for y := range h { // along columns into img
		for x := range w {
			var s float32
			for i := -r; i <= r; i++ {
				if yy := y + i; yy >= 0 && yy < h {
					s += k[i+r] * row[yy*w+x]
				}
			}
			col[y*w+x] = s
		}
	}
	for i, v := range col[:w*h] {
		img[i] = uint8(min(255, math.Round(float64(v))))
	}
}
