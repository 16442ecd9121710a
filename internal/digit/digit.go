// Package digit turns a user's image of a handwritten digit — a phone photo of
// paper, a scan, a drawing from a web canvas — into the 28×28 input an MNIST
// network was trained on.
//
// MNIST digits are white ink (255) on black (0). Each was scaled to fit a 20×20
// box keeping its aspect ratio, then placed in a 28×28 frame so that its centre
// of mass, in pixel-index coordinates, is at (14, 14). Users bring something
// else: dark ink on light or gray paper, uneven light and shadow gradients,
// JPEG noise, thick or hair-thin strokes, a small digit off-centre in a large
// photo, or a drawing on a transparent canvas. Preprocess undoes all that; see
// its documentation for the steps.
//
// Decode reads untrusted PNG, JPEG and GIF data within Limits, checking the
// size the header claims before any pixel is allocated. ASCII renders a
// result as text art for a terminal.
//
// Errors start with "digit: " and are classified by the sentinels below for
// errors.Is; a truncated image is io.ErrUnexpectedEOF.
package digit

import "errors"

// Size is the side of the output frame and Box the side of the box the digit
// is scaled to fit inside it, as in MNIST.
const (
	Size = 28
	Box  = 20
)

// Error classes, for errors.Is.
var (
	// ErrFormat: the data is not a PNG, JPEG or GIF image.
	ErrFormat = errors.New("digit: unknown image format (want PNG, JPEG or GIF)")
	// ErrCorrupt: the data looks like a known format but is invalid.
	ErrCorrupt = errors.New("digit: corrupt image")
	// ErrTooLarge: the data or the image it describes exceeds Limits.
	ErrTooLarge = errors.New("digit: image too large")
	// ErrEmpty: no data, or an image with no pixels (0×0).
	ErrEmpty = errors.New("digit: empty image")
	// ErrNoInk: Preprocess found nothing that looks like a digit.
	ErrNoInk = errors.New("digit: no ink found")
)
