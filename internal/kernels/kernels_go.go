//go:build !cgo || purego

package kernels

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

func adamRows(w, m, v []float32, cols int, idx []int32, vals []float32, p AdamParams) {
	for r, k := range idx {
		lo := r * cols
		for j := range cols {
			var gi float32
			if k >= 0 {
				gi = vals[int(k)*cols+j]
			}
			i := lo + j
			m[i] = p.Beta1*m[i] + (1-p.Beta1)*gi
			v[i] = p.Beta2*v[i] + (1-p.Beta2)*gi*gi
			w[i] -= p.Step * m[i] / (float32(math.Sqrt(float64(v[i])))*p.InvSqrtBC2 + p.Eps)
		}
	}
}

func relu(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func fillRows(y, v []float32, n int) {
	for r, f := range v {
		row := y[r*n : (r+1)*n]
		for i := range row {
			row[i] = f
		}
	}
}

// winogradWeightGrad: the C kernel's sums, in its order (a block of kernels at a time,
// t = Gᵀ·dU over the α² planes, then (Gᵀ·dU)·G).
func winogradWeightGrad(dw, du []float32, stride, n int, G []float64, a, r int) {
	const block = 64
	var buf [8 * 8 * block]float64 // on the stack (α ≤ 8, r ≤ α), as in C
	t := buf[:a*r*block]
	for k0 := 0; k0 < n; k0 += block {
		m := min(block, n-k0)
		clear(t)
		for i := 0; i < a; i++ {
			for l := 0; l < a; l++ {
				d := du[(i*a+l)*stride+k0 : (i*a+l)*stride+k0+m]
				for u := 0; u < r; u++ {
					g, tr := G[i*r+u], t[(u*a+l)*block:]
					for j, v := range d {
						tr[j] += g * float64(v)
					}
				}
			}
		}
		for u := 0; u < r; u++ {
			for v := 0; v < r; v++ {
				for j := 0; j < m; j++ {
					var sum float64
					for l := 0; l < a; l++ {
						sum += t[(u*a+l)*block+j] * G[l*r+v]
					}
					dw[(k0+j)*r*r+u*r+v] += float32(sum)
				}
			}
		}
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

func setAVX512(bool) {} // the pure-Go build has one path

func nonzeros(idx []int, val, x []float32) int {
	count := 0
	for i, v := range x {
		if v != 0 {
			idx[count], val[count] = i, v
			count++
		}
	}
	return count
}

func axpy(a float32, x, y []float32) { axpyGo(a, x, y) }

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

func softmaxRows(y, x []float32, rows, k int) {
	for r := 0; r < rows; r++ {
		yr, xr := y[r*k:(r+1)*k], x[r*k:(r+1)*k]
		m := xr[0]
		for _, v := range xr[1:] {
			m = max(m, v)
		}
		var sum float64
		for j, v := range xr {
			e := math.Exp(float64(v - m))
			yr[j] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		for j := range yr {
			yr[j] *= inv
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

func im2col(cols, x []float32, C, H, W, k, s, p, OH, OW int) {
	P := OH * OW
	for c := 0; c < C; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		for u := 0; u < k; u++ {
			for v := 0; v < k; v++ {
				row := cols[((c*k+u)*k+v)*P:]
				lo, hi := tapRange(W, s, p, v, OW)
				for i := 0; i < OH; i++ {
					r := row[i*OW : (i+1)*OW]
					y := i*s + u - p
					if y < 0 || y >= H {
						clear(r)
						continue
					}
					clear(r[:lo])
					clear(r[hi:])
					for j := lo; j < hi; j++ {
						r[j] = xc[y*W+j*s+v-p]
					}
				}
			}
		}
	}
}

func col2im(dx, cols []float32, C, H, W, k, s, p, OH, OW int) {
	P := OH * OW
	for c := 0; c < C; c++ {
		dc := dx[c*H*W : (c+1)*H*W]
		for u := 0; u < k; u++ {
			for v := 0; v < k; v++ {
				row := cols[((c*k+u)*k+v)*P:]
				lo, hi := tapRange(W, s, p, v, OW)
				for i := 0; i < OH; i++ {
					y := i*s + u - p
					if y < 0 || y >= H {
						continue
					}
					r := row[i*OW : (i+1)*OW]
					for j := lo; j < hi; j++ {
						dc[y*W+j*s+v-p] += r[j]
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

func bnMoments(x []float32, n, stride, s int) (mean, variance float64) {
	var t float64
	for p := 0; p < n; p++ {
		for _, v := range x[p*stride : p*stride+s] {
			t += float64(v)
		}
	}
	mean = t / float64(n*s)
	var q float64
	for p := 0; p < n; p++ {
		for _, v := range x[p*stride : p*stride+s] {
			d := float64(v) - mean
			q += d * d
		}
	}
	return mean, q / float64(n*s)
}

func bnNormalize(y, xhat, x []float32, n, stride, s int, mean, inv, gamma, beta float32) {
	for p := 0; p < n; p++ {
		o := p * stride
		for i, v := range x[o : o+s] {
			h := (v - mean) * inv
			xhat[o+i] = h
			y[o+i] = gamma*h + beta
		}
	}
}

func bnGradSums(dy, xhat []float32, n, stride, s int) (sum, sumX float64) {
	for p := 0; p < n; p++ {
		o := p * stride
		for i, g := range dy[o : o+s] {
			sum += float64(g)
			sumX += float64(g) * float64(xhat[o+i])
		}
	}
	return sum, sumX
}

func bnInputGrad(dx, dy, xhat []float32, n, stride, s int, km, ks, kx float32) {
	for p := 0; p < n; p++ {
		o := p * stride
		for i, g := range dy[o : o+s] {
			dx[o+i] = km*g - ks - kx*xhat[o+i]
		}
	}
}

// transform sets dst plane (i·q+l) (stride dld) to Σ_{j,k} L[i,j]·L[l,k]·src plane
// (j·p+k) (stride sld), n values a plane, going through e [q·p planes of n].
func transform(dst []float32, dld int, src []float32, sld, n int, L []float32, q, p int, e []float32) {
	for i := 0; i < q; i++ {
		for k := 0; k < p; k++ {
			ev := e[(i*p+k)*n : (i*p+k+1)*n]
			clear(ev)
			for j := 0; j < p; j++ {
				if a := L[i*p+j]; a != 0 {
					for t, v := range src[(j*p+k)*sld : (j*p+k)*sld+n] {
						ev[t] += a * v
					}
				}
			}
		}
	}
	for i := 0; i < q; i++ {
		for l := 0; l < q; l++ {
			dv := dst[(i*q+l)*dld : (i*q+l)*dld+n]
			clear(dv)
			for k := 0; k < p; k++ {
				if a := L[l*p+k]; a != 0 {
					for t, v := range e[(i*p+k)*n : (i*p+k+1)*n] {
						dv[t] += a * v
					}
				}
			}
		}
	}
}

func tilesIn(dst []float32, ld, cs int, x []float32, channels int, g Tiling, L Matrix, q int, tmp []float32) {
	T, S := g.Tiles(), g.Size
	d, e := tmp[:S*S*T], tmp[S*S*T:]
	for c := 0; c < channels; c++ {
		moveTiles(d, x[c*g.H*g.W:(c+1)*g.H*g.W], g, true)
		transform(dst[c*cs:], ld, d, T, T, L.Data, q, S, e)
	}
}

func tilesOut(x []float32, channels int, g Tiling, src []float32, ld, cs int, L Matrix, p int, tmp []float32) {
	T, S := g.Tiles(), g.Size
	d, e := tmp[:S*S*T], tmp[S*S*T:]
	for c := 0; c < channels; c++ {
		transform(d, T, src[c*cs:], ld, T, L.Data, S, p, e)
		moveTiles(d, x[c*g.H*g.W:(c+1)*g.H*g.W], g, false)
	}
}

// moveTiles copies one channel xc into its tiles d [Size² planes of g.Tiles()] (zero
// outside the image), or with in false adds the tiles back onto xc.
func moveTiles(d, xc []float32, g Tiling, in bool) {
	T, S := g.Tiles(), g.Size
	for a := 0; a < S; a++ {
		for b := 0; b < S; b++ {
			plane := d[(a*S+b)*T : (a*S+b+1)*T]
			lo, hi := g.txRange(b)
			for ty := 0; ty < g.TH; ty++ {
				row := plane[ty*g.TW : (ty+1)*g.TW]
				y := ty*g.Step + a + g.Off
				if y < 0 || y >= g.H {
					if in {
						clear(row)
					}
					continue
				}
				at := y*g.W + b + g.Off // column tx at at + tx·Step (at may be < 0: lo skips those)
				if !in {
					for tx := lo; tx < hi; tx++ {
						xc[at+tx*g.Step] += row[tx]
					}
					continue
				}
				clear(row[:lo])
				clear(row[hi:])
				for tx := lo; tx < hi; tx++ {
					row[tx] = xc[at+tx*g.Step]
				}
			}
		}
	}
}

func addRowSums8(dst, x []float32) {
	n := len(x) / len(dst)
	for r := range dst {
		row := x[r*n : (r+1)*n]
		var s [8]float32
		i := 0
		for ; i+8 <= len(row); i += 8 {
			v := row[i : i+8 : i+8]
			s[0] += v[0]
			s[1] += v[1]
			s[2] += v[2]
			s[3] += v[3]
			s[4] += v[4]
			s[5] += v[5]
			s[6] += v[6]
			s[7] += v[7]
		}
		for ; i < len(row); i++ {
			s[0] += row[i]
		}
		dst[r] += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
	}
}

func orColumns(mask []uint32, x []float32, rows, n int) {
	for r := 0; r < rows; r++ {
		for j, v := range x[r*n : (r+1)*n] {
			mask[j] |= math.Float32bits(v) &^ (1 << 31)
		}
	}
}

func gatherColumns(dst, x []float32, rows, n int, cols []int) {
	k := len(cols)
	for r := 0; r < rows; r++ {
		xr, dr := x[r*n:(r+1)*n], dst[r*k:(r+1)*k]
		for i, c := range cols {
			dr[i] = xr[c]
		}
	}
}

func addRows(w []float32, ld int, rows []int, src []float32, n int) {
	for k, r := range rows {
		row := w[r*ld : r*ld+n]
		for j, v := range src[k*n : (k+1)*n] {
			row[j] += v
		}
	}
}

// prefetchRows does nothing in Go, which has no prefetch instruction.
func prefetchRows(src []uint8, d int, idx []int) {}
