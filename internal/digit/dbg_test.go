package digit

import (
	"fmt"
	"image"
	"math"
	"strings"
	"testing"
)

func show(t *testing.T, ss []scene, mod map[string]func(*image.Gray)) {
	var cols [][]string
	var names []string
	for _, s := range ss {
		img := s.image()
		if f := mod[s.name]; f != nil {
			f(img.(*image.Gray))
		}
		px, err := Preprocess(img)
		names = append(names, s.name)
		if err != nil {
			cols = append(cols, strings.Split(err.Error()+strings.Repeat("\n", 28), "\n"))
			continue
		}
		cols = append(cols, strings.Split(ASCII(px), "\n"))
	}
	for _, n := range names {
		fmt.Printf("%-28.28s|", n)
	}
	fmt.Println()
	for y := 0; y < 28; y++ {
		for _, c := range cols {
			fmt.Printf("%-28.28s|", c[y])
		}
		fmt.Println()
	}
}

func TestDbgHard(t *testing.T) {
	W, H := 800, 600
	box := centred(W, H, 400, 0.7)
	ss := []scene{
		{name: "cast-shadow", w: W, h: H, digit: '4', box: box, pen: 28, light: func(x, y float64) float64 {
			if x+0.5*y > 600 {
				return 100
			}
			return 235
		}, noise: 5},
		{name: "dim-paper", w: W, h: H, digit: '2', box: box, pen: 28, light: func(x, y float64) float64 { return 100 }, ink: 0.35, noise: 8},
		{name: "pencil", w: W, h: H, digit: '3', box: box, pen: 10, light: func(x, y float64) float64 { return 220 }, ink: 0.7, noise: 6},
		{name: "vignette", w: W, h: H, digit: '0', box: box, pen: 28, light: func(x, y float64) float64 {
			d := math.Hypot(x-400, y-300) / 500
			return 240 * (1 - 0.7*d*d)
		}, noise: 4},
		{name: "desk-edge", w: W, h: H, digit: '7', box: box, pen: 28, noise: 4},
		{name: "touching", w: 200, h: 300, digit: '1', box: image.Rect(20, 0, 180, 300), pen: 40},
		{name: "tiny", w: 16, h: 16, digit: '7', box: image.Rect(3, 2, 13, 15), pen: 2},
		{name: "blob", w: 300, h: 300, digit: '0', box: centred(300, 300, 200, 0.7), pen: 90},
	}
	mod := map[string]func(*image.Gray){
		"desk-edge": func(m *image.Gray) {
			for y := 0; y < m.Rect.Dy(); y++ {
				for x := 0; x < 70; x++ {
					m.Pix[y*m.Stride+x] = 40
				}
			}
		},
	}
	show(t, ss, mod)
}
