package digit

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate the golden files in testdata/")

// preprocessed caches the output of each scene, shared by the tests.
var preprocessed = map[string][]uint8{}

func preprocessScene(t testing.TB, s scene) []uint8 {
	t.Helper()
	if px, ok := preprocessed[s.name]; ok {
		return px
	}
	px, err := Preprocess(s.image())
	if err != nil {
		t.Fatalf("Preprocess(%s): %v", s.name, err)
	}
	if len(px) != Size*Size {
		t.Fatalf("Preprocess(%s): %d pixels, want %d", s.name, len(px), Size*Size)
	}
	preprocessed[s.name] = px
	return px
}

// TestGolden compares the ASCII art of each preprocessed scene with
// testdata/NAME.golden; go test -update rewrites the files.
func TestGolden(t *testing.T) {
	for _, s := range scenes {
		t.Run(s.name, func(t *testing.T) {
			got := ASCII(preprocessScene(t, s))
			path := filepath.Join("testdata", s.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to generate testdata)", err)
			}
			if got != string(want) {
				t.Errorf("%s: got\n%s\nwant\n%s", s.name, got, want)
			}
		})
	}
}

// moments returns the centre of mass (index coordinates) and the bounding
// box of the nonzero pixels of a Size×Size image.
func moments(px []uint8) (cx, cy float64, box image.Rectangle) {
	var sum, sx, sy float64
	box = image.Rectangle{}
	for y := range Size {
		for x := range Size {
			v := float64(px[y*Size+x])
			if v == 0 {
				continue
			}
			sum += v
			sx += v * float64(x)
			sy += v * float64(y)
			box = box.Union(image.Rect(x, y, x+1, y+1))
		}
	}
	return sx / sum, sy / sum, box
}

// TestPreprocessShape checks MNIST's geometry on every scene: centre of mass
// within a pixel of (14, 14), the ink's longer side 19 or 20 pixels, and
// full ink somewhere.
func TestPreprocessShape(t *testing.T) {
	for _, s := range scenes {
		t.Run(s.name, func(t *testing.T) {
			px := preprocessScene(t, s)
			cx, cy, box := moments(px)
			if math.Abs(cx-14) > 1 || math.Abs(cy-14) > 1 {
				t.Errorf("%s: centre of mass (%.2f, %.2f), want within 1 of (14, 14)", s.name, cx, cy)
			}
			if long := max(box.Dx(), box.Dy()); long < Box-1 || long > Box {
				t.Errorf("%s: ink box %v is %d×%d, want the longer side %d or %d", s.name, box, box.Dx(), box.Dy(), Box-1, Box)
			}
			var peak uint8
			for _, v := range px {
				peak = max(peak, v)
			}
			if peak != 255 {
				t.Errorf("%s: brightest pixel %d, want 255", s.name, peak)
			}
		})
	}
}

// TestPreprocessSameShape checks that photographic trouble leaves the shape
// alone: each variant's ink (pixels ≥ 128) overlaps the clean rendering's,
// intersection over union at least 0.9 (0.8 for JPEG).
func TestPreprocessSameShape(t *testing.T) {
	clean := scene{name: "same-clean", w: 400, h: 400, digit: '7', box: centred(400, 400, 300, 0.7), pen: 24}
	tests := []struct {
		name   string
		vary   func(*scene)
		minIoU float64
	}{
		{"shadow", func(s *scene) { s.light = gradient(230, 120, 400, 400) }, 0.9},
		{"steep-shadow", func(s *scene) { s.light = gradient(250, 70, 400, 400) }, 0.9},
		{"gray-paper", func(s *scene) { s.light = func(x, y float64) float64 { return 170 } }, 0.9},
		{"side-light", func(s *scene) {
			s.light = func(x, y float64) float64 { return 120 + 120*math.Sin(x/400*math.Pi/2) }
		}, 0.9},
		{"soft-cast-shadow", func(s *scene) {
			s.light = func(x, y float64) float64 { return 100 + 135/(1+math.Exp((x+0.5*y-300)/15)) }
		}, 0.9},
		{"vignette", func(s *scene) {
			s.light = func(x, y float64) float64 {
				d := math.Hypot(x-200, y-200) / 280
				return 240 * (1 - 0.7*d*d)
			}
		}, 0.9},
		{"dark-desk-edge", func(s *scene) {
			s.light = func(x, y float64) float64 {
				if x < 40 || y > 370 {
					return 35
				}
				return 235
			}
		}, 0.9},
		{"ruled-paper", func(s *scene) {
			s.light = func(x, y float64) float64 {
				if int(y)%40 < 2 {
					return 150
				}
				return 235
			}
		}, 0.9},
		{"dim-paper", func(s *scene) { s.light = func(x, y float64) float64 { return 100 }; s.ink = 0.35; s.noise = 6 }, 0.9},
		{"pencil", func(s *scene) { s.ink = 0.65; s.noise = 5 }, 0.9},
		{"noise", func(s *scene) { s.noise = 12 }, 0.9},
		{"jpeg", func(s *scene) { s.noise = 4; s.jpeg = 60 }, 0.85},
		{"light-on-dark", func(s *scene) { s.light = func(x, y float64) float64 { return 30 }; s.ink = 7.5 }, 0.9},
		{"transparent", func(s *scene) { s.transparent = true }, 0.9},
		{"larger", func(s *scene) {
			s.w, s.h, s.box, s.pen = 1600, 1200, centred(1600, 1200, 900, 0.7), 72
		}, 0.85},
	}
	want := preprocessScene(t, clean)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := clean
			s.name = "same-" + tc.name
			tc.vary(&s)
			got := preprocessScene(t, s)
			if iou := overlap(got, want); iou < tc.minIoU {
				t.Errorf("%s: ink overlaps the clean image's by %.3f (intersection over union), want ≥ %.2f\ngot\n%s\nclean\n%s",
					tc.name, iou, tc.minIoU, ASCII(got), ASCII(want))
			}
		})
	}
}

// overlap returns the intersection over union of the pixels ≥ 128 in a and b.
func overlap(a, b []uint8) float64 {
	var both, either int
	for i := range a {
		ia, ib := a[i] >= 128, b[i] >= 128
		if ia && ib {
			both++
		}
		if ia || ib {
			either++
		}
	}
	return float64(both) / float64(either)
}

// TestPreprocessNoInk checks that blank pages, however photographed, are
// ErrNoInk rather than a digit made of noise.
func TestPreprocessNoInk(t *testing.T) {
	tests := []scene{
		{name: "white", w: 300, h: 200},
		{name: "black", w: 300, h: 200, light: func(x, y float64) float64 { return 0 }},
		{name: "gray-noisy", w: 800, h: 600, light: func(x, y float64) float64 { return 170 }, noise: 15},
		{name: "shadowed-noisy", w: 1600, h: 1200, light: gradient(240, 90, 1600, 1200), noise: 8},
		{name: "jpeg", w: 640, h: 480, light: gradient(230, 180, 640, 480), noise: 5, jpeg: 60},
		{name: "transparent", w: 100, h: 100, transparent: true},
		{name: "one-pixel", w: 1, h: 1},
	}
	for _, s := range tests {
		t.Run(s.name, func(t *testing.T) {
			s.digit = 'x' // no glyph: nothing drawn
			px, err := Preprocess(s.image())
			if !errIs(err, ErrNoInk) {
				t.Fatalf("Preprocess(%s): got %v, want ErrNoInk\n%s", s.name, err, asciiOrNil(px))
			}
			if !strings.HasPrefix(err.Error(), "digit: ") {
				t.Errorf("Preprocess(%s): error %q does not start with \"digit: \"", s.name, err)
			}
		})
	}
}

// TestPreprocessOddSizes: degenerate shapes give a result or an error,
// never a panic.
func TestPreprocessOddSizes(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {2, 3}, {1, 500}, {500, 1}, {3, 2000}, {28, 28}} {
		for _, fill := range []uint8{0, 128, 255} {
			m := image.NewGray(image.Rect(0, 0, size.X, size.Y))
			for i := range m.Pix {
				m.Pix[i] = 255 - fill*uint8(i%3/2) // every third pixel fill
			}
			px, err := Preprocess(m)
			if err != nil && !errIs(err, ErrNoInk) {
				t.Errorf("Preprocess(%v, fill %d): %v, want nil or ErrNoInk", size, fill, err)
			}
			if err == nil && len(px) != Size*Size {
				t.Errorf("Preprocess(%v, fill %d): %d pixels", size, fill, len(px))
			}
		}
	}
}

func asciiOrNil(px []uint8) string {
	if px == nil {
		return "<nil>"
	}
	return ASCII(px)
}

func TestPreprocessEmpty(t *testing.T) {
	for _, img := range []image.Image{
		image.NewGray(image.Rectangle{}),
		image.NewRGBA(image.Rect(5, 5, 5, 9)),
	} {
		if _, err := Preprocess(img); !errIs(err, ErrEmpty) {
			t.Errorf("Preprocess(%T %v): got %v, want ErrEmpty", img, img.Bounds(), err)
		}
	}
}

// TestPreprocessImageTypes checks that every image type gives the same result
// as the *image.Gray it was converted from, and that a nonzero origin does
// not matter.
func TestPreprocessImageTypes(t *testing.T) {
	s := scene{name: "types", w: 120, h: 90, digit: '4', box: centred(120, 90, 70, 0.75), pen: 7}
	g := s.image().(*image.Gray)
	want, err := Preprocess(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range convert(g) {
		name := fmt.Sprintf("%T", img)
		t.Run(name, func(t *testing.T) {
			got, err := Preprocess(img)
			if err != nil {
				t.Fatalf("Preprocess(%s): %v", name, err)
			}
			if iou := overlap(got, want); iou < 0.97 {
				t.Errorf("Preprocess(%s): overlap with *image.Gray's %.3f, want ≥ 0.97\ngot\n%s\nwant\n%s", name, iou, ASCII(got), ASCII(want))
			}
		})
	}
}

func BenchmarkPreprocess(b *testing.B) {
	for _, name := range []string{"photo-four", "small-in-big-seven", "thin-four", "clean-seven"} {
		var s scene
		for _, sc := range scenes {
			if sc.name == name {
				s = sc
			}
		}
		img := s.image()
		b.Run(fmt.Sprintf("%s-%dx%d", name, s.w, s.h), func(b *testing.B) {
			for b.Loop() {
				if _, err := Preprocess(img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTightCrop: a digit cut out tightly, its fat strokes running along the image's
// edges (a box on a form, a scanned set's bitmap), is read as the same digit with
// paper around it, not as paper ("no ink") or with its edges eaten away.
func TestTightCrop(t *testing.T) {
	// Ink shapes in a w×h image with no margin: every one touches two opposite edges.
	shapes := []struct {
		name string
		w, h int
		ink  func(x, y float64) bool // x, y in [0, 1)
	}{
		{"ring", 60, 80, func(x, y float64) bool { // a "0" of a fat marker, 15 % thick (read right at the first look too)
			d := math.Hypot((x-0.5)/0.5, (y-0.5)/0.5)
			return d <= 1 && d >= 0.7
		}},
		{"bar", 20, 90, func(x, y float64) bool { return x >= 0.2 && x < 0.8 }}, // a "1" 13 % thick, wider than its paper
		{"seven", 70, 90, func(x, y float64) bool { // a top bar 15 % thick, a stem 19 %
			return y < 0.15 || x > 0.55 && x < 0.8
		}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			draw := func(margin int) *image.Gray {
				m := image.NewGray(image.Rect(0, 0, sh.w+2*margin, sh.h+2*margin))
				for i := range m.Pix {
					m.Pix[i] = 235
				}
				for y := range sh.h {
					for x := range sh.w {
						if sh.ink((float64(x)+0.5)/float64(sh.w), (float64(y)+0.5)/float64(sh.h)) {
							m.Pix[(y+margin)*m.Stride+x+margin] = 30
						}
					}
				}
				return m
			}
			want, err := Preprocess(draw(sh.h / 2))
			if err != nil {
				t.Fatalf("with paper around it: %v", err)
			}
			tight := draw(0)
			r, err := Analyze(tight)
			if err != nil {
				t.Fatalf("cropped tightly: %v, want the digit", err)
			}
			if iou := overlap(r.Pixels, want); iou < 0.9 {
				t.Errorf("cropped tightly: ink overlaps the same digit with paper around it by %.3f, want ≥ 0.9\ngot\n%s\nwant\n%s", iou, ASCII(r.Pixels), ASCII(want))
			}
			// The box is the ink's: a stroke along the edge taken for paper would show
			// as the paper beside it read as ink (same shape for a bar, wrong place).
			inkBox := image.Rectangle{}
			for y := range sh.h {
				for x := range sh.w {
					if tight.Pix[y*tight.Stride+x] < 128 {
						inkBox = inkBox.Union(image.Rect(x, y, x+1, y+1))
					}
				}
			}
			d := r.Box.Min.Sub(inkBox.Min)
			e := r.Box.Max.Sub(inkBox.Max)
			if max(iabs(d.X), iabs(d.Y), iabs(e.X), iabs(e.Y)) > 2 {
				t.Errorf("cropped tightly: box %v, want the ink's %v", r.Box, inkBox)
			}
		})
	}
}

// TestCutOff: a scanned "7" at its own size, 32×32, its body running off the top and
// bottom edges (UCI optdigits' bitmaps are cut so), is read whole. Its first look keeps
// only a stray corner of the bar (the body, at the edges, is dropped as an edge mark);
// a small picture is always looked at again with paper around it (smallSide).
func TestCutOff(t *testing.T) {
	rows := []string{
		".............#########..........",
		".............#########..........",
		".........###############........",
		".........###############........",
		".........################.......",
		".........################.......",
		"........#####.....######........",
		"........#####.....######........",
		"...................#####........",
		"...................#####........",
		"..................#####.........",
		"..................#####.........",
		".................######.........",
		".................######.........",
		"................######..........",
		"................######..........",
		"........###################.....",
		"........###################.....",
		"........###################.....",
		"........###################.....",
		".......############.............",
		".......############.............",
		"........###########.............",
		"........###########.............",
		"............#####...............",
		"............#####...............",
		"...........######...............",
		"...........######...............",
		"..........######................",
		"..........######................",
		"..........#####.................",
		"..........#####.................",
	}
	draw := func(margin int) *image.Gray { return bitmap(rows, 1, margin) }
	want, err := Preprocess(draw(8))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(draw(0))
	if err != nil {
		t.Fatal(err)
	}
	if iou := overlap(r.Pixels, want); iou < 0.9 || r.Box != image.Rect(7, 0, 27, 32) {
		t.Errorf("32×32, cut at its edges: box %v (want (7,0)-(27,32)), ink overlaps the same 7 with paper around it by %.3f, want ≥ 0.9\ngot\n%s\nwant\n%s", r.Box, iou, ASCII(r.Pixels), ASCII(want))
	}
}

// bitmap draws rows of ".#" (paper, ink) as a black-on-white picture, each character
// k×k pixels, with margin characters of paper around.
func bitmap(rows []string, k, margin int) *image.Gray { return grayBitmap(rows, ".#", k, margin) }

// grayBitmap draws rows whose characters are palette's, from white paper (the first)
// to black ink (the last) in even steps.
func grayBitmap(rows []string, palette string, k, margin int) *image.Gray {
	w, h := (len(rows[0])+2*margin)*k, (len(rows)+2*margin)*k
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	n := len(palette) - 1
	for y := range len(rows) * k {
		for x := range len(rows[0]) * k {
			v := strings.IndexByte(palette, rows[y/k][x/k])
			img.Pix[(y+margin*k)*w+x+margin*k] = uint8(255 - v*255/n)
		}
	}
	return img
}

// TestSmallScan: scanned bitmaps at their own size read as their enlarged copies do. A
// 32×32 fat "1" (a bar 13 pixels wide, as UCI optdigits' writers' ones are) lost its bar
// to the paper estimate (one-pixel blocks); a 16×16 "7" (as USPS and Semeion store
// theirs) came out with hard, blocky strokes.
func TestSmallScan(t *testing.T) {
	var one []string
	for y := range 32 {
		r := []byte(strings.Repeat(".", 32))
		for x := range 32 {
			cx := 18 - float64(y-16)*0.15
			if y >= 3 && y < 29 && float64(x) >= cx-6.5 && float64(x) < cx+6.5 || y >= 3 && y < 11 && x >= 6 && x < 12 {
				r[x] = '#'
			}
		}
		one = append(one, string(r))
	}
	seven := []string{
		"................",
		"..############..",
		"..############..",
		"..........###...",
		".........###....",
		"........###.....",
		".......###......",
		"......###.......",
		"......###.......",
		".....###........",
		".....###........",
		"....###.........",
		"....###.........",
		"...###..........",
		"...###..........",
		"................",
	}
	for _, c := range []struct {
		name      string
		rows      []string
		bigMargin int
		minIoU    float64
	}{{"fat one 32×32", one, 16, 0.95}, {"seven 16×16", seven, 0, 0.95}} {
		got, err := Preprocess(bitmap(c.rows, 1, 0))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, err := Preprocess(bitmap(c.rows, 8, c.bigMargin))
		if err != nil {
			t.Fatalf("%s 8×: %v", c.name, err)
		}
		if iou := overlap(got, want); iou < c.minIoU {
			t.Errorf("%s at its own size: ink overlaps its 8× copy's by %.3f, want ≥ %g\ngot\n%s\nwant\n%s", c.name, iou, c.minIoU, ASCII(got), ASCII(want))
		}
	}
}

// TestGradientStrip: a picture mostly darker than the paper the closing estimates (a
// 38×1 gray ramp) has a negative noise level; contrast below it must still be paper,
// not a negative index (it panicked).
func TestGradientStrip(t *testing.T) {
	for w := 2; w <= 64; w++ {
		m := image.NewGray(image.Rect(0, 0, w, 1))
		for x := range w {
			m.Pix[x] = uint8(x * 255 / (w - 1))
		}
		if _, err := Analyze(m); err != nil && !errors.Is(err, ErrNoInk) {
			t.Errorf("%d×1 ramp: %v, want a digit or ErrNoInk", w, err)
		}
		v := image.NewGray(image.Rect(0, 0, 1, w))
		copy(v.Pix, m.Pix)
		if _, err := Analyze(v); err != nil && !errors.Is(err, ErrNoInk) {
			t.Errorf("1×%d ramp: %v, want a digit or ErrNoInk", w, err)
		}
	}
}

// TestTightCropNoInk: an MNIST "0" (test image 3) cropped to its ink and drawn dark on
// white at 4× shows no ink at the first look (its ink covers most of the picture, the
// paper estimate follows it); the second look with paper around it finds the digit. The
// skip of hopeless second looks (blocks.reach) must not skip this one.
func TestTightCropNoInk(t *testing.T) {
	rows := []string{
		"      +%#.      ",
		"     .%%%-      ",
		"     *%%%-      ",
		"   -*%%%%+-:    ",
		"   %%%%%%%%#.   ",
		"  *@%%%%%#%%%   ",
		" :#%%%%+::=%%-  ",
		".%%%%#=   .%%%- ",
		".%%%*      -%%%.",
		".%%#.      .#%%.",
		".%%        .#@%+",
		"=%%        -%%%.",
		"#%%       :%%%%.",
		"#%%      +%%%#: ",
		"#%%     *#%%%*  ",
		"#%%::%%%@%%%%   ",
		"-%%%%%%%%%%%+   ",
		".%%%%%%%%%*.    ",
		" :+%%%%%%-      ",
		"   :*%*::.      ",
	}
	draw := func(margin int) *image.Gray { return grayBitmap(rows, " .:-=+*#%@", 4, margin) }
	tight := draw(0)
	if _, _, _, err := analyze(tight); !errors.Is(err, ErrNoInk) {
		t.Fatalf("first look at the tight crop: %v, want ErrNoInk (the case this test is about)", err)
	}
	want, err := Preprocess(draw(8))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Preprocess(tight)
	if err != nil {
		t.Fatalf("tight crop: %v, want the digit", err)
	}
	if iou := overlap(got, want); iou < 0.9 {
		t.Errorf("tight crop: ink overlaps the same 0 with paper around it by %.3f, want ≥ 0.9\ngot\n%s\nwant\n%s", iou, ASCII(got), ASCII(want))
	}
}

// TestSmallWithMarks: a small picture is looked at twice (smallSide), but marks the
// first look left out as not the digit stay out: a frame, an underline, a gray frame
// around a light digit on dark paper.
func TestSmallWithMarks(t *testing.T) {
	for _, c := range []struct {
		name string
		s    scene
		mark func(x, y, w, h int) bool
		v    uint8 // the mark's gray
	}{
		{"frame", scene{w: 64, h: 64, digit: '7', box: centred(64, 64, 44, 0.7), pen: 5}, func(x, y, w, h int) bool {
			return x == 0 || y == 0 || x == w-1 || y == h-1
		}, 0},
		{"underline", scene{w: 64, h: 64, digit: '2', box: centred(64, 64, 44, 0.7), pen: 5}, func(x, y, w, h int) bool {
			return y >= h-3 && y < h-1
		}, 0},
		{"gray frame, light on dark", scene{w: 28, h: 28, digit: '3', box: centred(28, 28, 20, 0.65), pen: 2.5,
			light: func(x, y float64) float64 { return 10 }, ink: 25}, func(x, y, w, h int) bool {
			return x == 0 || y == 0 || x == w-1 || y == h-1
		}, 128},
	} {
		plain := c.s.image().(*image.Gray)
		want, err := Analyze(plain)
		if err != nil {
			t.Fatalf("%s without the marks: %v", c.name, err)
		}
		marked := image.NewGray(plain.Bounds())
		copy(marked.Pix, plain.Pix)
		for y := range c.s.h {
			for x := range c.s.w {
				if c.mark(x, y, c.s.w, c.s.h) {
					marked.Pix[y*marked.Stride+x] = c.v
				}
			}
		}
		got, err := Analyze(marked)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if iou := overlap(got.Pixels, want.Pixels); iou < 0.9 || got.Parts > want.Parts {
			t.Errorf("%s: ink overlaps the digit without the marks by %.3f (want ≥ 0.9), %d parts (want %d)\ngot\n%s\nwant\n%s", c.name, iou, got.Parts, want.Parts, ASCII(got.Pixels), ASCII(want.Pixels))
		}
	}
}

// TestThinStrip: a long thin image (1×16000) costs about its own size: the second
// look's border, a quarter of the longer side all round, would be 8001×24000 pixels.
func TestThinStrip(t *testing.T) {
	const n = 16000
	m := image.NewGray(image.Rect(0, 0, 1, n))
	for i := range m.Pix {
		m.Pix[i] = 235
	}
	for i := n / 3; i < n/2; i++ {
		m.Pix[i] = 20
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Analyze(m)
	runtime.ReadMemStats(&after)
	if err != nil && !errors.Is(err, ErrNoInk) {
		t.Fatalf("1×%d: %v, want a digit or ErrNoInk", n, err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 100*n {
		t.Errorf("1×%d: Analyze allocated %d bytes, want at most %d", n, got, 100*n)
	}
}

// TestSmallImage: a small picture (a 48×48 scan) is read as the same picture 8 times
// larger: its background blocks are as coarse relative to it, so its strokes are ink.
func TestSmallImage(t *testing.T) {
	draw := func(k int) *image.Gray {
		m := image.NewGray(image.Rect(0, 0, 48*k, 48*k))
		for y := range 48 * k {
			for x := range 48 * k {
				fx, fy := float64(x/k), float64(y/k)
				v := uint8(235)
				// a "7": a bar 7 pixels thick, a stem 9 wide, in an 8-pixel margin
				if fx >= 8 && fx < 40 && fy >= 8 && fy < 15 || fx >= 26 && fx < 35 && fy >= 8 && fy < 40 {
					v = 30
				}
				m.Pix[y*m.Stride+x] = v
			}
		}
		return m
	}
	want, err := Preprocess(draw(8))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Preprocess(draw(1))
	if err != nil {
		t.Fatalf("48×48: %v", err)
	}
	if iou := overlap(got, want); iou < 0.9 {
		t.Errorf("48×48: ink overlaps the same picture 8 times larger by %.3f, want ≥ 0.9\ngot\n%s\nwant\n%s", iou, ASCII(got), ASCII(want))
	}
}
