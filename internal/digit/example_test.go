package digit_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"strings"

	"github.com/digitnet/digitnet/internal/digit"
)

// A user's drawing goes from file bytes to a network's 28×28 input in three
// calls: Decode, Preprocess and, to look at it, ASCII.
func Example() {
	// A "7" drawn in black on a white canvas, off-centre, saved as a PNG.
	canvas := image.NewGray(image.Rect(0, 0, 300, 200))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(canvas, image.Rect(40, 30, 110, 42), image.Black, image.Point{}, draw.Src)
	for y := 30; y < 150; y++ {
		x := 110 - (y-30)*45/120
		draw.Draw(canvas, image.Rect(x-12, y, x, y+1), image.Black, image.Point{}, draw.Src)
	}
	var file bytes.Buffer
	if err := png.Encode(&file, canvas); err != nil {
		fmt.Println(err)
		return
	}

	img, err := digit.Decode(&file, digit.DefaultLimits)
	if err != nil {
		fmt.Println(err)
		return
	}
	pixels, err := digit.Preprocess(img) // 784 bytes, 0 background, 255 ink
	if err != nil {
		fmt.Println(err)
		return
	}
	// Framed, to show the 28×28 field and the digit centred in it.
	for line := range strings.Lines(digit.ASCII(pixels)) {
		fmt.Printf("|%-28s|\n", strings.TrimSuffix(line, "\n"))
	}
	// Output:
	// |                            |
	// |                            |
	// |                            |
	// |                            |
	// |                            |
	// |                            |
	// |                            |
	// |        #%%%%%%%%%%#        |
	// |        %@@@@@@@@@@%        |
	// |        %@@@@@@@@@@%        |
	// |        .......=@@@-        |
	// |               *@@%         |
	// |              .%@@+         |
	// |              -@@@:         |
	// |              #@@#          |
	// |             :@@@=          |
	// |             =@@%.          |
	// |             #@@*           |
	// |            :@@@-           |
	// |            +@@%.           |
	// |           .%@@+            |
	// |           -@@@:            |
	// |           *@@#             |
	// |          .%@@=             |
	// |          =@@@.             |
	// |          #@@*              |
	// |          *%%-              |
	// |                            |
}

func ExampleDecode() {
	_, err := digit.Decode(strings.NewReader("<html>not an image</html>"), digit.DefaultLimits)
	fmt.Println(err)
	fmt.Println(errors.Is(err, digit.ErrFormat))

	// A blank page decodes but has no digit on it.
	blank := image.NewGray(image.Rect(0, 0, 64, 64))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	_, err = digit.Preprocess(blank)
	fmt.Println(errors.Is(err, digit.ErrNoInk))
	// Output:
	// digit: unknown image format (want PNG, JPEG or GIF)
	// true
	// true
}
