//go:build !cgo || purego

package tensor

import "math"

func axpyRows(y, w []float32, ld int, rows []int, coef []float32) {
	n := len(y)
	for k, r := range rows {
		a, row := coef[k], w[r*ld:r*ld+n]
		for j, v := range row {
			y[j] += a * v
		}
	}
}

func addOuterRows(w []float32, ld int, rows []int, coef, v []float32) {
	n := len(v)
	for k, r := range rows {
		a, row := coef[k], w[r*ld:r*ld+n]
		for j, x := range v {
			row[j] += a * x
		}
	}
}

func adamUpdate(w, g, m, v []float32, p AdamParams) {
	m, v, g = m[:len(w)], v[:len(w)], g[:len(w)]
	for i, gi := range g {
		m[i] = p.Beta1*m[i] + (1-p.Beta1)*gi
		v[i] = p.Beta2*v[i] + (1-p.Beta2)*gi*gi
		w[i] -= p.Step * m[i] / (float32(math.Sqrt(float64(v[i])))*p.InvSqrtBC2 + p.Eps)
		g[i] = 0
	}
}

func relu(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func reluBackward(dx, y, dy []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

func bytesToFloat(dst []float32, src []uint8, scale, offset float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(v)*scale + offset
	}
}

func sigmoid(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		if v >= 0 {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		} else {
			e := math.Exp(float64(v))
			y[i] = float32(e / (1 + e))
		}
	}
}

func tanh(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = float32(math.Tanh(float64(v)))
	}
}

func gatherBytes(dst []float32, src []uint8, d int, idx []int, scale, offset float32) {
	for j, i := range idx {
		bytesToFloat(dst[j*d:(j+1)*d], src[i*d:(i+1)*d], scale, offset)
	}
}
