// Package synth draws pictures of handwriting that look like what a user gives
// digitnet: a digit from a handwriting font or from recorded pen strokes or from a
// low-resolution scan, written with a thin pen or a fat marker, slanted, on white
// or gray paper, photographed under uneven light, noisy, blurred, JPEG-compressed.
// It exists to build evaluation sets that are not MNIST (tools/heldout) and
// augmentation sets from other sources.
//
// Everything goes through a Mask, a grayscale ink-coverage image:
//
//	Font.Glyph          rune of a TTF/OTF font → Mask
//	DrawStrokes         pen strokes (polylines) → Mask, round anti-aliased brush
//	Mask.Resize, ...    a scanned 16×16 digit → a smooth Mask
//	Render              Mask + Style → picture (*image.RGBA)
//	ComposeNumber       several Masks + Layout + Style → picture of a number, with
//	                    each digit's box
//
// A Style says how the picture is made (pen width, slant, ink, paper, light, noise,
// JPEG quality); Preset returns named ones and Random draws one.
//
// Every random choice comes from the *rand.Rand passed in: the same source state
// gives the same picture, byte for byte. Nothing here reads the clock or a global
// source. The functions never modify their inputs and allocate their results.
//
// Coordinates: x to the right, y down, in pixels; a pixel (x, y) covers the square
// [x, x+1)×[y, y+1), so its centre is (x+0.5, y+0.5).
package synth
