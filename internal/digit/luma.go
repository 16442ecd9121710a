package digit

import (
	"image"
	"image/color"
)

// luma returns the W×H luma of img in row-major order, each pixel composited
// over white by its alpha. Luma weighs R, G and B as color.GrayModel does
// (ITU-R BT.601). The common concrete types are converted directly, others
// through their RGBA64At method or, failing that, At.
func luma(img image.Image) []uint8 {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	g := make([]uint8, W*H)
	switch m := img.(type) {
	case *image.Gray:
		for y := range H {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(g[y*W:(y+1)*W], m.Pix[i:i+W])
		}
	case *image.YCbCr:
		// Y is the luma already; JPEG has no alpha.
		for y := range H {
			i := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(g[y*W:(y+1)*W], m.Y[i:i+W])
		}
	case *image.NRGBA:
		for y := range H {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			row := g[y*W : (y+1)*W]
			for x := range row {
				q := p[4*x : 4*x+4 : 4*x+4]
				l := (19595*uint32(q[0]) + 38470*uint32(q[1]) + 7471*uint32(q[2]) + 1<<15) >> 16
				a := uint32(q[3])
				row[x] = uint8((l*a + 255*(255-a) + 127) / 255)
			}
		}
	case *image.RGBA:
		// Premultiplied: over white, a channel c becomes c + 255 - a.
		for y := range H {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			row := g[y*W : (y+1)*W]
			for x := range row {
				q := p[4*x : 4*x+4 : 4*x+4]
				l := (19595*uint32(q[0]) + 38470*uint32(q[1]) + 7471*uint32(q[2]) + 1<<15) >> 16
				row[x] = uint8(min(l+255-uint32(q[3]), 255))
			}
		}
	case *image.Paletted:
		var lut [256]uint8
		for i := range lut {
			lut[i] = 255 // an index outside the palette: paper
		}
		for i, c := range m.Palette[:min(len(m.Palette), 256)] {
			lut[i] = grayOnWhite(c)
		}
		for y := range H {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			row := g[y*W : (y+1)*W]
			for x := range row {
				row[x] = lut[p[x]]
			}
		}
	case image.RGBA64Image:
		for y := range H {
			row := g[y*W : (y+1)*W]
			for x := range row {
				c := m.RGBA64At(b.Min.X+x, b.Min.Y+y)
				row[x] = onWhite(uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A))
			}
		}
	default:
		for y := range H {
			row := g[y*W : (y+1)*W]
			for x := range row {
				row[x] = grayOnWhite(img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
	}
	return g
}

// grayOnWhite returns the luma of c composited over white.
func grayOnWhite(c color.Color) uint8 {
	if c == nil {
		return 255
	}
	return onWhite(c.RGBA())
}

// onWhite returns the 8-bit luma of the premultiplied 16-bit color r, g, b, a
// composited over white.
func onWhite(r, g, b, a uint32) uint8 {
	l := (19595*r + 38470*g + 7471*b + 1<<15) >> 16
	return uint8(min(l+0xffff-a, 0xffff) >> 8)
}
