package main

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/internal/synth"
)

// glyphPPEM is the size glyphs are drawn at: digits come out about 128 px tall,
// finer than any picture they are drawn into.
const glyphPPEM = 180

// maskHeight is the height pen strokes and scans are drawn at before styling.
const maskHeight = 128

// gen holds the sources the sets are drawn from. Its masks are shared by the
// jobs, which only read them.
type gen struct {
	per       int          // fonts-styled: pictures per face and digit
	numbers   int          // numbers from each of fonts and UNIPEN (half as many from USPS)
	heldFaces []loadedFace // held-out fonts
	glyphs    [][10]*synth.Mask
	letters   []map[rune]*synth.Mask // per held-out face; letters it lacks are absent
	// Real handwriting, nil when -data does not have it.
	uspsTest, uspsTrain, semeion, optdigits []scan
	optdigitsTune                           []scan       // optdigits-orig.tra: other writers, NOT held out
	trainFaces                              []loadedFace // the training-group fonts, for tuning sets
	trainGlyphs                             [][10]*synth.Mask
	unipen                                  []penChar       // 1a digits
	placeholders                            [10]*synth.Mask // Go Regular digits for train/
}

// setDef describes one set.
type setDef struct {
	name   string
	layout string        // "classes" (test/<digit>/), "files" (<kind>/) or "numbers"
	needs  func() string // "" when the sources are there, else what is missing
	jobs   func() []job
	about  string // for the set's README
}

// letterSkip are the letters left out of nondigits because in handwriting they
// are easily, and rightly, read as digits: O o→0, I i l→1, S s→5, Z z→2, B→8,
// b→6, g q→9, G→6.
const letterSkip = "OoIilSsZzBbgqG"

func (g *gen) sets() []setDef {
	haveFonts := func() string {
		if len(g.heldFaces) == 0 {
			return "no held-out font is installed (scripts/heldout installs them)"
		}
		return ""
	}
	have := func(what string, s []scan) func() string {
		return func() string {
			if s == nil {
				return what + " not found under -data"
			}
			return ""
		}
	}
	haveUNIPEN := func() string {
		if g.unipen == nil {
			return "UNIPEN not found under -data"
		}
		return ""
	}
	clean, _ := synth.Preset("clean")
	photo, _ := synth.Preset("photo")
	return []setDef{
		{"fonts-clean", "classes", haveFonts, g.fontsClean,
			"Each digit of each held-out font, black on white, the font's own strokes, at 64, 100 and 200 px."},
		{"fonts-styled", "classes", haveFonts, g.fontsStyled,
			fmt.Sprintf("Each digit of each held-out font %d times, each in a random style (synth.Random: marker, pencil, ballpoint, photo, drawn, chalk; slant, rotation, paper, light, noise, blur, JPEG).", g.per)},
		{"usps", "classes", have("USPS", g.uspsTest), g.scans(g.uspsTest, "usps", clean, false),
			"USPS test set (zip.test, 2007 digits; the standard benchmark half), each 16×16 scan smoothly upscaled and drawn black on white, 100 px."},
		{"usps-photo", "classes", have("USPS", g.uspsTest), g.scans(g.uspsTest, "usps-photo", photo, true),
			"The same USPS test digits as if written on paper and photographed (synth photo style, varied: gray paper, uneven light, tilt, noise, blur, JPEG)."},
		{"usps-train", "classes", have("USPS", g.uspsTrain), g.scans(g.uspsTrain, "usps-train", clean, false),
			"USPS training half (zip.train, 7291 digits), plain like usps. Held out like the rest: digitnet never trains on USPS; report it apart from usps."},
		{"semeion", "classes", have("Semeion", g.semeion), g.scans(g.semeion, "semeion", clean, false),
			"Semeion (1593 digits, ~80 writers), 16×16 binary scans smoothed and upscaled, black on white, 100 px. Each digit was stretched to fill its box by Semeion, so a '1' is a wide slanted bar: expect low accuracy on 1s."},
		{"semeion-photo", "classes", have("Semeion", g.semeion), g.scans(g.semeion, "semeion-photo", photo, true),
			"The Semeion digits photographed (as usps-photo)."},
		{"optdigits", "classes", have("optdigits windep", g.optdigits), g.scans(g.optdigits, "optdigits", clean, false),
			"UCI optdigits-orig writer-independent test file (1797 digits, 13 writers), 32×32 binary scans smoothed and upscaled, black on white, 100 px."},
		{"optdigits-photo", "classes", have("optdigits windep", g.optdigits), g.scans(g.optdigits, "optdigits-photo", photo, true),
			"The optdigits windep digits photographed (as usps-photo)."},
		{"tune-optdigits", "classes", have("optdigits tra", g.optdigitsTune), g.scans(g.optdigitsTune, "tune-optdigits", clean, false),
			"NOT HELD OUT: a tuning set, for choosing thresholds (a confidence floor). UCI optdigits-orig training file (1934 digits, 30 writers, none of them windep's 13), drawn as optdigits. Written only when named in -sets."},
		{"tune-optdigits-photo", "classes", have("optdigits tra", g.optdigitsTune), g.scans(g.optdigitsTune, "tune-optdigits-photo", photo, true),
			"NOT HELD OUT: the tune-optdigits digits photographed (as optdigits-photo). Written only when named in -sets."},
		{"tune-numbers", "numbers", func() string { return "" }, g.tuneNumbers,
			"NOT HELD OUT: numbers of training-group font digits and of optdigits-orig.tra digits (30 writers, none held out; when -data has them), laid out as numbers is, for tuning how numbers are read. Written only when named in -sets."},
		{"unipen", "classes", haveUNIPEN, g.unipenSet,
			"UNIPEN 1a digits of the held-out contributors (ced, ibm, imp, uqb), drawn from their pen strokes like on a drawing canvas (200-320 px, #111 on white, one in seven white on black), pen 3-15 % of the digit's height, hard or soft brush."},
		{"nondigits", "files", haveFonts, g.nondigits,
			"Pictures that are not one digit, for measuring abstention: letters of the held-out fonts (without " + letterSkip + ", which read as digits), scribbles, noise, blank paper, paper with ruled lines only, and two digits side by side. One folder per kind; labels.csv says what each file is."},
		{"numbers", "numbers", haveFonts, g.numberSet,
			"Numbers of 2 to 12 digits from the held-out fonts, held-out UNIPEN writers and USPS test digits, separated, tight or overlapping; manifest.json gives each file's text, each digit's box and whether neighbours touch."},
	}
}

// classFile is where a class set's picture i of class label (a digit) goes.
func classFile(split, set, label string, i int) string {
	return fmt.Sprintf("%s/%s/%s-%05d.png", split, label, set, i)
}

func (g *gen) fontsClean() []job {
	var jobs []job
	st, _ := synth.Preset("clean")
	for fi, f := range g.heldFaces {
		for d, m := range g.glyphs[fi] {
			if m == nil {
				continue
			}
			for _, size := range []int{64, 100, 200} {
				i := len(jobs)
				jobs = append(jobs, func(rng *rand.Rand) (item, error) {
					s := st
					s.Size = size
					return item{file: classFile("test", "fonts-clean", digitLabel(d), i), img: synth.Render(m, s, rng),
						label: digitLabel(d), source: f.file, style: fmt.Sprintf("clean %dpx", size)}, nil
				})
			}
		}
	}
	return jobs
}

func (g *gen) fontsStyled() []job {
	var jobs []job
	for fi, f := range g.heldFaces {
		for d, m := range g.glyphs[fi] {
			if m == nil {
				continue
			}
			for range g.per {
				i := len(jobs)
				jobs = append(jobs, func(rng *rand.Rand) (item, error) {
					st := synth.Random(rng)
					return item{file: classFile("test", "fonts-styled", digitLabel(d), i), img: synth.Render(m, st, rng),
						label: digitLabel(d), source: f.file, style: st.Name}, nil
				})
			}
		}
	}
	return jobs
}

// scans returns the jobs drawing real scans for the set named set: in style st as
// it is (plain), or varied by synth.Vary (photo).
func (g *gen) scans(src []scan, set string, st synth.Style, vary bool) func() []job {
	return func() []job {
		jobs := make([]job, len(src))
		for i, s := range src {
			jobs[i] = func(rng *rand.Rand) (item, error) {
				m := scanMask(s.mask)
				style := st
				if vary {
					style = synth.Vary(st, rng)
				} else {
					style.Scale = 0.75
				}
				return item{file: classFile("test", set, digitLabel(s.label), i), img: synth.Render(m, style, rng),
					label: digitLabel(s.label), source: s.ref, style: style.Name}, nil
			}
		}
		return jobs
	}
}

// scanMask turns a small scan (16×16, 32×32) into a smooth mask about maskHeight
// pixels tall: upscaled with a cubic filter, and, for binary scans, blurred by a
// third of a source pixel and leveled, so the staircase of square pixels becomes
// a stroke's round edge, as if the scan had been made at a higher resolution.
func scanMask(m *synth.Mask) *synth.Mask {
	k := max(1, maskHeight/m.H)
	big := m.Resize(m.W*k, m.H*k)
	if isBinary(m) {
		big = big.Blur(0.5 * float64(k)).Level(2.5)
	}
	return big.Trim(2)
}

func isBinary(m *synth.Mask) bool {
	for _, v := range m.Pix {
		if v != 0 && v != 1 {
			return false
		}
	}
	return true
}

// canvasPens are the pen widths pen digits are drawn with, as fractions of the
// digit's height: the serve page's pen runs from 6 to 48 px on a 320 px canvas.
var canvasPens = []float64{0.03, 0.06, 0.1, 0.15}

// penMask draws a pen digit's strokes height pixels tall (tablet y points up)
// with a pen width pixels wide and a brush edge soft pixels wide.
func penMask(strokes []synth.Stroke, height, width, soft float64) *synth.Mask {
	return synth.DrawStrokes(synth.FitStrokes(strokes, height, true), width, soft)
}

// canvasStyle is a drawing program's canvas: #111 on white (or, one time in
// seven, white on black), size 200-320 px, the digit 50-80 % of it; the pen is
// already in the mask.
func canvasStyle(rng *rand.Rand) synth.Style {
	st, _ := synth.Preset("drawn")
	st.Size = []int{200, 280, 320}[rng.IntN(3)]
	st.Scale = 0.5 + 0.3*rng.Float64()
	st.OffsetX, st.OffsetY = 0.08*(2*rng.Float64()-1), 0.08*(2*rng.Float64()-1)
	st.Pen, st.Soft = 0, 0
	st.Ink = synth.RGB{R: 17, G: 17, B: 17}
	if rng.Float64() < 1.0/7 {
		st.Name = "drawn-inverted"
		st.Ink, st.Paper = synth.RGB{R: 255, G: 255, B: 255}, synth.RGB{}
	}
	return st
}

// canvasPen draws a drawing program's pen for a pen digit: its width as a fraction of
// the digit's height (one of canvasPens, ±15 %), in pixels, and its edge: hard, or half
// the time a soft brush fading over up to 80 % of the width.
func canvasPen(rng *rand.Rand) (pen, width, soft float64) {
	pen = canvasPens[rng.IntN(len(canvasPens))] * (0.85 + 0.3*rng.Float64())
	width = pen * maskHeight
	soft = 1.0
	if rng.Float64() < 0.5 {
		soft = max(1, 0.8*width*rng.Float64())
	}
	return pen, width, soft
}

// penPicture draws pen strokes (tablet coordinates, y up) with a canvasPen, on a
// drawing canvas (canvasStyle) or else on paper or photographed in a random synth
// style, and says how it drew them. Every pen set draws through it: the unipen
// set, -train-unipen and -train-outliers.
func penPicture(strokes []synth.Stroke, canvas bool, rng *rand.Rand) (*image.RGBA, string) {
	pen, width, soft := canvasPen(rng)
	var st synth.Style
	if canvas {
		st = canvasStyle(rng)
	} else {
		st = synth.Random(rng)
		st.Pen = 0 // the pen is drawn into the mask
	}
	img := synth.Render(penMask(strokes, maskHeight, width, soft), st, rng)
	return img, fmt.Sprintf("%s pen %.3f soft %.1fpx", st.Name, pen, soft)
}

func (g *gen) unipenSet() []job {
	jobs := make([]job, len(g.unipen))
	for i, d := range g.unipen {
		jobs[i] = func(rng *rand.Rand) (item, error) {
			img, style := penPicture(d.strokes, true, rng)
			return item{file: classFile("test", "unipen", d.label, i), img: img, label: d.label,
				source: d.writer + " " + d.ref, style: style}, nil
		}
	}
	return jobs
}

func digitLabel(d int) string { return string(rune('0' + d)) }

// numberStyle draws a random style for a picture of two digits or a number:
// height 40-130 px.
func numberStyle(rng *rand.Rand) synth.Style {
	st := synth.Random(rng)
	st.Size = 40 + rng.IntN(91)
	return st
}

// fontDigits returns n random digits of a random held-out face.
func (g *gen) fontDigits(n int, rng *rand.Rand) ([]*synth.Mask, []string, string) {
	fi := rng.IntN(len(g.heldFaces))
	var ms []*synth.Mask
	var ls []string
	for len(ms) < n {
		d := rng.IntN(10)
		if m := g.glyphs[fi][d]; m != nil {
			ms, ls = append(ms, m), append(ls, digitLabel(d))
		}
	}
	return ms, ls, "font " + g.heldFaces[fi].file
}

// unipenDigits returns n digits of one UNIPEN writer (drawn with replacement when
// the writer wrote fewer), with one pen, keeping their sizes relative to each
// other, and the pen width as a fraction of the digit height.
func (g *gen) unipenDigits(n int, writers []string, byWriter map[string][]int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64) {
	w := writers[rng.IntN(len(writers))]
	pool := byWriter[w]
	var pick []int
	if len(pool) >= n {
		pick = rng.Perm(len(pool))[:n]
	} else {
		for range n {
			pick = append(pick, rng.IntN(len(pool)))
		}
	}
	pen := canvasPens[rng.IntN(len(canvasPens))]
	sizes := make([]float64, n)
	for k, p := range pick {
		lo, hi := synth.StrokeBounds(g.unipen[pool[p]].strokes)
		sizes[k] = max(hi.Y-lo.Y, (hi.X-lo.X)/2) // what FitStrokes scales to maskHeight
	}
	ref := median(sizes)
	var ms []*synth.Mask
	var ls []string
	for k, p := range pick {
		d := g.unipen[pool[p]]
		// Within [0.6, 1.5]: a writer's digits differ in size, but one at a wrong
		// scale should not dwarf the rest.
		rel := min(max(sizes[k]/ref, 0.6), 1.5)
		ms = append(ms, penMask(d.strokes, maskHeight*rel, pen*maskHeight, 1))
		ls = append(ls, d.label)
	}
	return ms, ls, "unipen " + w, pen
}

// unipenWriters groups the held-out UNIPEN digits by writer, writers sorted.
func (g *gen) unipenWriters() ([]string, map[string][]int) {
	by := map[string][]int{}
	for i, d := range g.unipen {
		by[d.writer] = append(by[d.writer], i)
	}
	var ws []string
	for w, idx := range by {
		if len(idx) >= 4 { // too few to make numbers of without repeating one sample
			ws = append(ws, w)
		}
	}
	slices.Sort(ws)
	return ws, by
}

// uspsDigits returns n random USPS test digits.
func (g *gen) uspsDigits(n int, rng *rand.Rand) ([]*synth.Mask, []string, string) {
	var ms []*synth.Mask
	var ls []string
	var refs []string
	for range n {
		s := g.uspsTest[rng.IntN(len(g.uspsTest))]
		ms, ls, refs = append(ms, scanMask(s.mask)), append(ls, digitLabel(s.label)), append(refs, s.ref)
	}
	return ms, ls, "usps " + strings.Join(refs, ",")
}

// spacing is a way digits of a number are set: its gap range in digit heights,
// and how often it is chosen.
type spacing struct {
	name     string
	min, max float64
	weight   float64
}

// spacings are the ways digits of a number are set: apart, tight (about
// touching) or overlapping.
var spacings = []spacing{
	{"separated", 0.08, 0.4, 0.5},
	{"tight", -0.05, 0.04, 0.25},
	{"overlapping", -0.2, -0.05, 0.25},
}

// pickSpacing draws one of spacings by their weights; it draws one number from rng.
func pickSpacing(rng *rand.Rand) spacing {
	u := rng.Float64()
	for _, s := range spacings {
		if u < s.weight {
			return s
		}
		u -= s.weight
	}
	return spacings[len(spacings)-1]
}

// randomLayout draws a spacing and returns the layout for it.
func randomLayout(rng *rand.Rand) (synth.Layout, string) {
	sp := pickSpacing(rng)
	lay := synth.DefaultLayout
	lay.GapMin, lay.GapMax = sp.min, sp.max
	return lay, sp.name
}

// numberEntry is one picture of numbers/manifest.json.
type numberEntry struct {
	File     string   `json:"file"`
	Text     string   `json:"text"`
	Source   string   `json:"source"`
	Style    string   `json:"style"`
	Spacing  string   `json:"spacing"` // asked for: separated, tight, overlapping
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Boxes    []boxOut `json:"boxes"`
	Touching bool     `json:"touching"` // measured: some neighbours' ink touches
	// TouchingPairs lists i for each pair of digits i and i+1 that touch.
	TouchingPairs []int `json:"touching_pairs"`
}

// boxOut is a digit's ink box in pixels, x1 and y1 exclusive.
type boxOut struct {
	Label string `json:"label"`
	X0    int    `json:"x0"`
	Y0    int    `json:"y0"`
	X1    int    `json:"x1"`
	Y1    int    `json:"y1"`
}

// numberShare is the part of -numbers each source gives (USPS's digits come from
// unknown, different writers, so fewer).
var numberShare = map[string]float64{"fonts": 1, "unipen": 1, "usps": 0.5, "optdigits": 1, "trainfonts": 1}

func (g *gen) numberSet() []job { return g.numbers_(false) }

// tuneNumbers are numbers of optdigits-orig.tra digits (NOT held out), for tuning.
func (g *gen) tuneNumbers() []job { return g.numbers_(true) }

func (g *gen) numbers_(tune bool) []job {
	var jobs []job
	writers, byWriter := g.unipenWriters()
	if tune {
		writers = nil
	}
	add := func(source string, draw func(n int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64)) {
		for range int(float64(g.numbers) * numberShare[source]) {
			i := len(jobs)
			jobs = append(jobs, func(rng *rand.Rand) (item, error) {
				n := 2 + rng.IntN(11)
				ms, ls, src, pen := draw(n, rng)
				lay, spacing := randomLayout(rng)
				st := numberStyle(rng)
				if pen > 0 {
					st.Pen = 0 // the strokes were drawn with their pen
				}
				num, err := synth.ComposeNumber(ms, ls, lay, st, rng)
				if err != nil {
					return item{}, fmt.Errorf("numbers: %s: %w", src, err)
				}
				file := fmt.Sprintf("%s-%05d.png", source, i)
				e := numberEntry{File: file, Text: strings.Join(ls, ""), Source: src, Style: st.Name, Spacing: spacing,
					Width: num.Image.Bounds().Dx(), Height: num.Image.Bounds().Dy(), Touching: num.TouchingAny(), TouchingPairs: []int{}}
				for _, b := range num.Boxes {
					e.Boxes = append(e.Boxes, boxOut{b.Label, b.Rect.Min.X, b.Rect.Min.Y, b.Rect.Max.X, b.Rect.Max.Y})
				}
				for k, t := range num.Touching {
					if t {
						e.TouchingPairs = append(e.TouchingPairs, k)
					}
				}
				return item{file: file, img: num.Image, label: e.Text, source: src, style: st.Name + " " + spacing, extra: e}, nil
			})
		}
	}
	if tune && len(g.trainFaces) > 0 {
		add("trainfonts", func(n int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64) {
			fi := rng.IntN(len(g.trainFaces))
			var ms []*synth.Mask
			var ls []string
			for len(ms) < n {
				d := rng.IntN(10)
				if m := g.trainGlyphs[fi][d]; m != nil {
					ms, ls = append(ms, m), append(ls, digitLabel(d))
				}
			}
			return ms, ls, "training font " + g.trainFaces[fi].file, 0
		})
	}
	if tune && g.optdigitsTune != nil {
		add("optdigits", func(n int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64) {
			var ms []*synth.Mask
			var ls, refs []string
			for range n {
				s := g.optdigitsTune[rng.IntN(len(g.optdigitsTune))]
				ms, ls, refs = append(ms, scanMask(s.mask)), append(ls, digitLabel(s.label)), append(refs, s.ref)
			}
			return ms, ls, "optdigits-tra " + strings.Join(refs, ","), 0
		})
		return jobs
	}
	add("fonts", func(n int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64) {
		ms, ls, src := g.fontDigits(n, rng)
		return ms, ls, src, 0
	})
	if len(writers) > 0 {
		add("unipen", func(n int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64) {
			return g.unipenDigits(n, writers, byWriter, rng)
		})
	}
	if g.uspsTest != nil {
		add("usps", func(n int, rng *rand.Rand) ([]*synth.Mask, []string, string, float64) {
			ms, ls, src := g.uspsDigits(n, rng)
			return ms, ls, src, 0
		})
	}
	return jobs
}

// nondigitCounts are how many pictures of each kind nondigits has (letters: two
// per face and letter, one plain and one styled).
var nondigitCounts = map[string]int{"scribble": 300, "noise": 100, "blank": 100, "ruled": 100, "two-digits": 300}

func (g *gen) nondigits() []job {
	var jobs []job
	add := func(kind string, draw func(rng *rand.Rand) (image.Image, string, string, error)) {
		i := len(jobs)
		jobs = append(jobs, func(rng *rand.Rand) (item, error) {
			img, source, style, err := draw(rng)
			return item{file: fmt.Sprintf("%s/%s-%05d.png", kind, kind, i), img: img, label: kind, source: source, style: style}, err
		})
	}
	clean, _ := synth.Preset("clean")
	for fi, f := range g.heldFaces {
		for _, r := range letters() {
			m := g.letters[fi][r]
			if m == nil {
				continue
			}
			add("letter", func(rng *rand.Rand) (image.Image, string, string, error) {
				return synth.Render(m, clean, rng), fmt.Sprintf("%c %s", r, f.file), "clean", nil
			})
			add("letter", func(rng *rand.Rand) (image.Image, string, string, error) {
				st := synth.Random(rng)
				return synth.Render(m, st, rng), fmt.Sprintf("%c %s", r, f.file), st.Name, nil
			})
		}
	}
	for range nondigitCounts["scribble"] {
		add("scribble", func(rng *rand.Rand) (image.Image, string, string, error) {
			strokes := scribble(rng)
			pen := canvasPens[rng.IntN(len(canvasPens))] * maskHeight
			st := synth.Random(rng)
			st.Pen = 0
			return synth.Render(synth.DrawStrokes(synth.FitStrokes(strokes, maskHeight, false), pen, 1), st, rng),
				fmt.Sprintf("%d strokes", len(strokes)), st.Name, nil
		})
	}
	blank := synth.NewMask(1, 1)
	for range nondigitCounts["noise"] {
		add("noise", func(rng *rand.Rand) (image.Image, string, string, error) {
			st := synth.Random(rng)
			st.Noise = 15 + 50*rng.Float64()
			st.Texture = 0.4 * rng.Float64()
			return synth.Render(blank, st, rng), fmt.Sprintf("noise σ %.0f, texture %.2f", st.Noise, st.Texture), st.Name, nil
		})
	}
	for range nondigitCounts["blank"] {
		add("blank", func(rng *rand.Rand) (image.Image, string, string, error) {
			st := synth.Random(rng)
			return synth.Render(blank, st, rng), "paper", st.Name, nil
		})
	}
	for range nondigitCounts["ruled"] {
		add("ruled", func(rng *rand.Rand) (image.Image, string, string, error) {
			st := synth.Random(rng)
			st.Rule = 0.3 + 0.5*rng.Float64()
			st.RuleGap = 2 // one line
			what := "one ruled line"
			if rng.Float64() < 0.4 {
				st.RuleGap, what = 0.2+0.2*rng.Float64(), "ruled lines"
			}
			return synth.Render(blank, st, rng), what, st.Name, nil
		})
	}
	writers, byWriter := g.unipenWriters()
	for range nondigitCounts["two-digits"] {
		add("two-digits", func(rng *rand.Rand) (image.Image, string, string, error) {
			ms, ls, src := g.fontDigits(2, rng)
			st := numberStyle(rng)
			if len(writers) > 0 && rng.Float64() < 0.5 {
				ms, ls, src, _ = g.unipenDigits(2, writers, byWriter, rng)
				st.Pen = 0
			}
			lay := synth.DefaultLayout // clearly two: separated, never touching
			num, err := synth.ComposeNumber(ms, ls, lay, st, rng)
			if err != nil {
				return nil, "", "", err
			}
			return num.Image, strings.Join(ls, "") + " " + src, st.Name, nil
		})
	}
	return jobs
}

// letters returns A-Z and a-z without letterSkip.
func letters() []rune {
	var out []rune
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" {
		if !strings.ContainsRune(letterSkip, r) {
			out = append(out, r)
		}
	}
	return out
}

// scribble returns 1 to 3 random pen strokes: a wandering, sharply turning pen
// that makes tangles and zigzags, 30 to 70 steps each, not a shape.
func scribble(rng *rand.Rand) []synth.Stroke {
	n := 1 + rng.IntN(3)
	strokes := make([]synth.Stroke, n)
	for k := range strokes {
		p := synth.Point{X: 100 * rng.Float64(), Y: 100 * rng.Float64()}
		heading := 2 * math.Pi * rng.Float64()
		steps := 30 + rng.IntN(41)
		turn := 0.5 + rng.Float64() // radians per step, σ
		s := synth.Stroke{p}
		for range steps {
			heading += turn * rng.NormFloat64()
			step := 3 + 5*rng.Float64()
			p = synth.Point{X: min(max(p.X+step*math.Cos(heading), 0), 100), Y: min(max(p.Y+step*math.Sin(heading), 0), 100)}
			s = append(s, p)
		}
		strokes[k] = s
	}
	return strokes
}
