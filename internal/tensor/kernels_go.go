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

func im2col(cols, x []float32, N, C, H, W, k, s, p, OH, OW int) {
	K := C * k * k
	for n := 0; n < N; n++ {
		xn := x[n*C*H*W:]
		for i := 0; i < OH; i++ {
			for j := 0; j < OW; j++ {
				row := cols[((n*OH+i)*OW+j)*K:]
				q := 0
				for c := 0; c < C; c++ {
					xc := xn[c*H*W:]
					for u := 0; u < k; u++ {
						y := i*s + u - p
						for v := 0; v < k; v++ {
							xx := j*s + v - p
							if y >= 0 && y < H && xx >= 0 && xx < W {
								row[q] = xc[y*W+xx]
							} else {
								row[q] = 0
							}
							q++
						}
					}
				}
			}
		}
	}
}

func col2im(dx, cols []float32, N, C, H, W, k, s, p, OH, OW int) {
	K := C * k * k
	for n := 0; n < N; n++ {
		dn := dx[n*C*H*W:]
		for i := 0; i < OH; i++ {
			for j := 0; j < OW; j++ {
				row := cols[((n*OH+i)*OW+j)*K:]
				q := 0
				for c := 0; c < C; c++ {
					dc := dn[c*H*W:]
					for u := 0; u < k; u++ {
						y := i*s + u - p
						for v := 0; v < k; v++ {
							xx := j*s + v - p
							if y >= 0 && y < H && xx >= 0 && xx < W {
								dc[y*W+xx] += row[q]
							}
							q++
						}
					}
				}
			}
		}
	}
}

func maxPool(y []float32, argmax []int32, x []float32, NC, H, W, k, OH, OW int) {
	o := 0
	for nc := 0; nc < NC; nc++ {
		base := nc * H * W
		for i := 0; i < OH; i++ {
			for j := 0; j < OW; j++ {
				at := base + i*k*W + j*k
				best := x[at]
				for u := 0; u < k; u++ {
					for v := 0; v < k; v++ {
						idx := base + (i*k+u)*W + j*k + v
						if x[idx] > best {
							best, at = x[idx], idx
						}
					}
				}
				y[o], argmax[o] = best, int32(at)
				o++
			}
		}
	}
}
