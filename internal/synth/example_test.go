package synth_test

import (
	"bytes"
	"fmt"
	"image/png"
	"math/rand/v2"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/digitnet/digitnet/internal/synth"
)

// A digit of a font, written with a blue ballpoint pen, and saved as a PNG.
func ExampleRender() {
	font, err := synth.ParseFont(goregular.TTF) // or synth.LoadFont("/usr/share/fonts/truetype/kristi/Kristi.ttf")
	if err != nil {
		panic(err)
	}
	seven, err := font.Glyph('7', 180)
	if err != nil {
		panic(err)
	}
	st, _ := synth.Preset("ballpoint-blue")
	st.Slant = 0.2
	img := synth.Render(seven, st, rand.New(rand.NewPCG(1, 2)))
	var file bytes.Buffer
	if err := png.Encode(&file, img); err != nil {
		panic(err)
	}
	fmt.Println(img.Bounds().Dx(), "×", img.Bounds().Dy())
	// Output: 100 × 100
}

// A number written in a random style, and where its digits are.
func ExampleComposeNumber() {
	font, err := synth.ParseFont(goregular.TTF)
	if err != nil {
		panic(err)
	}
	digits, labels, err := font.Text("2024", 120)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	st := synth.Random(rng)
	st.Size = 64 // the picture's height
	n, err := synth.ComposeNumber(digits, labels, synth.DefaultLayout, st, rng)
	if err != nil {
		panic(err)
	}
	for _, b := range n.Boxes {
		fmt.Print(b.Label, " ") // each with b.Rect, its ink's box in the picture
	}
	fmt.Println("touching:", n.TouchingAny())
	// Output: 2 0 2 4 touching: false
}
