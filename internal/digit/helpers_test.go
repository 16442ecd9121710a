package digit

import (
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
)

func errIs(err, target error) bool { return errors.Is(err, target) }

// convert returns g as each image type Preprocess handles specially, and as a
// few others, one with an origin away from (0, 0).
func convert(g *image.Gray) []image.Image {
	b := g.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, g, b.Min, draw.Src)
	nrgba := image.NewNRGBA(b)
	draw.Draw(nrgba, b, g, b.Min, draw.Src)
	pal := image.NewPaletted(b, palette.Plan9)
	draw.Draw(pal, b, g, b.Min, draw.Src)
	g16 := image.NewGray16(b)
	draw.Draw(g16, b, g, b.Min, draw.Src)
	cmyk := image.NewCMYK(b)
	draw.Draw(cmyk, b, g, b.Min, draw.Src)
	ycc := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			ycc.Y[ycc.YOffset(x, y)] = g.GrayAt(x, y).Y
		}
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128
	}
	// Placed at (1000, -50) inside a larger canvas with junk outside.
	big := image.NewRGBA(image.Rect(990, -60, 1010+b.Dx(), -40+b.Dy()))
	draw.Draw(big, big.Bounds(), image.NewUniform(color.Black), image.Point{}, draw.Src)
	at := image.Rect(1000, -50, 1000+b.Dx(), -50+b.Dy())
	draw.Draw(big, at, g, b.Min, draw.Src)
	// A generic image type, read through At.
	return []image.Image{rgba, nrgba, pal, g16, cmyk, ycc, big.SubImage(at), atOnly{g}}
}

// atOnly hides every method of its image but the Image interface.
type atOnly struct{ image.Image }
