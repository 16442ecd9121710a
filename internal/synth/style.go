package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// RGB is a colour, each channel 0..255.
type RGB struct{ R, G, B float64 }

// Style says how a mask becomes a picture: the writing (pen, slant, placement),
// the ink, the paper, and the camera. Lengths are fractions of the picture's side
// (of its height for a number) unless named otherwise. The zero value of an effect
// turns it off, so a Style can be built from Preset("clean") up.
type Style struct {
	Name string // the preset it came from, for records; not used in drawing

	// The picture and where the writing sits in it.
	Size             int     // side of the square picture in pixels (a number's height)
	Scale            float64 // ink height / Size (a wide mark is shrunk to fit)
	OffsetX, OffsetY float64 // ink centre's offset from the picture's centre
	Slant            float64 // shear: x moves right by Slant per unit of height above the centre
	Rotate           float64 // degrees, counterclockwise

	// The pen. Pen is the stroke width as a fraction of the ink's height (0.03 a
	// fine pen, 0.15 a fat marker); 0 keeps the source's width. Thinning stops at
	// 40 % of the width of the source's thinnest strokes, so none vanishes.
	Pen   float64
	Soft  float64 // edge blur, σ as a fraction of the stroke width: a soft brush
	Ink   RGB
	Alpha float64 // how much light the ink takes away at full coverage, 0..1
	Grain float64 // pencil grain: the fraction of ink missing in a speckled pattern, 0..1

	// The paper.
	Paper   RGB
	Light   float64 // uneven light: the darkest part gets (1-Light) of the light, 0..1
	Texture float64 // paper texture, relative brightness change (0.03 is visible)
	Rule    float64 // ruled lines' darkness, 0..1 (0: none)
	RuleGap float64 // distance between ruled lines; ≥ 1 draws one line

	// The camera.
	Perspective float64 // corners move by up to this much: a photo not taken square on
	Noise       float64 // Gaussian noise, standard deviation in 0..255 units
	Blur        float64 // out of focus: σ in output pixels
	JPEG        int     // JPEG quality 1..100 to round-trip the picture through; 0 none
}

// presets are the named styles; Preset and Random copy from here.
var presets = map[string]Style{
	// A black pen on white paper, the source's own stroke width: a scan.
	"clean": {
		Size: 100, Scale: 0.7, Ink: RGB{0, 0, 0}, Alpha: 1, Paper: RGB{255, 255, 255},
	},
	// A fat black felt marker on white paper.
	"marker": {
		Size: 100, Scale: 0.7, Pen: 0.15, Soft: 0.05, Ink: RGB{15, 15, 20}, Alpha: 0.97,
		Paper: RGB{252, 252, 250}, Noise: 1.5,
	},
	// A soft graphite pencil on off-white paper: gray, grainy, faint.
	"pencil": {
		Size: 100, Scale: 0.7, Pen: 0.045, Soft: 0.15, Ink: RGB{60, 60, 68}, Alpha: 0.8, Grain: 0.3,
		Paper: RGB{246, 243, 234}, Texture: 0.025, Noise: 2,
	},
	// A blue ballpoint pen on off-white paper.
	"ballpoint-blue": {
		Size: 100, Scale: 0.7, Pen: 0.04, Soft: 0.1, Ink: RGB{25, 45, 150}, Alpha: 0.9, Grain: 0.08,
		Paper: RGB{248, 246, 240}, Texture: 0.015, Noise: 2,
	},
	// A phone photo of a digit on paper: gray paper under uneven light, slightly
	// tilted, noisy, a little out of focus, JPEG.
	"photo": {
		Size: 100, Scale: 0.6, Rotate: 3, Pen: 0.08, Soft: 0.1, Ink: RGB{35, 35, 45}, Alpha: 0.9,
		Paper: RGB{205, 200, 190}, Light: 0.35, Texture: 0.02, Perspective: 0.05,
		Noise: 5, Blur: 0.7, JPEG: 70,
	},
	// Drawn with a soft round brush in a drawing program: black on white, smooth
	// wide strokes with blurred edges, no paper.
	"drawn": {
		Size: 200, Scale: 0.75, Pen: 0.1, Soft: 0.2, Ink: RGB{0, 0, 0}, Alpha: 1,
		Paper: RGB{255, 255, 255},
	},
	// Chalk on a blackboard: light ink on dark paper, the opposite polarity.
	"chalk": {
		Size: 100, Scale: 0.65, Pen: 0.09, Soft: 0.15, Ink: RGB{235, 235, 225}, Alpha: 0.9, Grain: 0.25,
		Paper: RGB{45, 60, 50}, Light: 0.25, Texture: 0.05, Noise: 3,
	},
}

// Presets returns the names of the preset styles, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Preset returns the named style: clean, marker, pencil, ballpoint-blue, photo,
// drawn or chalk.
func Preset(name string) (Style, error) {
	st, ok := presets[name]
	if !ok {
		return Style{}, fmt.Errorf("synth: no style %q (have %v)", name, Presets())
	}
	st.Name = name
	return st, nil
}

// randomWeights are how often Random picks each preset: mostly dark ink on light
// paper, as users' pictures are; chalk (light on dark) now and then.
var randomWeights = []struct {
	name string
	w    float64
}{
	{"clean", 1}, {"marker", 2}, {"pencil", 2}, {"ballpoint-blue", 2}, {"photo", 3}, {"drawn", 2}, {"chalk", 0.5},
}

// Random returns a style drawn from rng: a preset chosen by randomWeights, then
// Vary.
func Random(rng *rand.Rand) Style {
	var total float64
	for _, p := range randomWeights {
		total += p.w
	}
	u := rng.Float64() * total
	name := randomWeights[len(randomWeights)-1].name
	for _, p := range randomWeights {
		if u < p.w {
			name = p.name
			break
		}
		u -= p.w
	}
	st, _ := Preset(name)
	return Vary(st, rng)
}

// Vary returns st with a random size from 64 to 200 pixels, position, slant and
// rotation, and its pen, ink, light, paper and camera jittered around st's
// values; an effect st turns off stays off, except uneven light and (one time in
// ten) ruled paper, which any paper may get. It draws the same number of values
// from rng whatever st is, so what is drawn after it does not depend on st.
func Vary(st Style, rng *rand.Rand) Style {
	r := make([]float64, 16) // every draw up front, in a fixed order
	for i := range r {
		r[i] = rng.Float64()
	}
	lerp := func(u, a, b float64) float64 { return a + u*(b-a) }
	st.Size = 64 + int(r[0]*137)
	st.Scale = lerp(r[1], 0.45, 0.85)
	room := (1 - st.Scale) / 2 // how far the ink may move and stay inside
	st.OffsetX = lerp(r[2], -room, room) * 0.6
	st.OffsetY = lerp(r[3], -room, room) * 0.6
	st.Slant = lerp(r[4], -0.15, 0.3) // people lean right more often than left
	st.Rotate = lerp(r[5], -8, 8)
	st.Pen = min(st.Pen*lerp(r[6], 0.6, 1.5), 0.2)
	st.Soft *= lerp(r[7], 0.5, 1.5)
	st.Alpha = min(1, st.Alpha*lerp(r[8], 0.85, 1.1))
	st.Light = max(st.Light, lerp(r[9], -0.3, 0.4)) // sometimes uneven light on any paper
	st.Texture *= lerp(r[10], 0.5, 1.5)
	st.Noise *= lerp(r[11], 0.5, 1.6)
	st.Blur *= lerp(r[12], 0.5, 1.5)
	if st.JPEG > 0 {
		st.JPEG = int(lerp(r[13], 40, 90))
	}
	if r[14] < 0.1 && st.Rule == 0 { // ruled notebook paper
		st.Rule, st.RuleGap = lerp(r[15], 0.15, 0.35), lerp(r[15], 0.25, 0.4)
	}
	return st
}
