package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	dn "github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/internal/fsutil"
)

// reading is one line of `read --json`. Text is null, with a reason, when no digit
// was found.
type reading struct {
	File       string         `json:"file"`
	Text       *string        `json:"text"`
	Confidence float64        `json:"confidence,omitempty"`
	Digits     []readingDigit `json:"digits,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Shown      string         `json:"shown,omitempty"` // the --show picture
	Error      string         `json:"error,omitempty"`
}

type readingDigit struct {
	Digit      int     `json:"digit"`
	Confidence float64 `json:"confidence"`
	Unsure     bool    `json:"unsure,omitempty"` // below the model's floor: "?" in the text
	Box        [4]int  `json:"box"`              // x, y, width, height in the image
}

func runRead(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet read", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("model", "", "model file written by `train --out` (default: the pretrained model digitnet ships); several, comma-separated, read as an ensemble")
	asJSON := fs.Bool("json", false, "print one JSON object per input file")
	show := fs.Bool("show", false, "write the digits' boxes and labels over each image to <name>.read.png next to it")
	floor := fs.Float64("min-confidence", -1, "mark digits less probable than this unsure (\"?\"); default: the model's calibrated floor")
	weights := weightsFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: digitnet read [--model M] [--json] [--show] FILE|DIR...\n\nReads the number (a row of 1 to 12 or more handwritten digits) in each PNG, JPEG or GIF image\n(a directory: the images in it). A digit the model is unsure of is \"?\" in the text.\n\nflags:")
		fs.PrintDefaults()
	}
	images, err := parseImageArgs(fs, args)
	if err != nil {
		return err
	}
	if len(images) == 0 {
		return usageErr("no images given: name image files or directories")
	}
	m, err := openModel(*path, *floor, *weights)
	if err != nil {
		return err
	}
	inputs := expandImages(images)
	failed := 0
	for _, in := range inputs {
		if ctx.Err() != nil {
			break
		}
		r := reading{File: in.file}
		if in.err != nil {
			r.Error = in.err.Error()
		} else {
			r = readFile(m, in.file, *show)
		}
		if r.Error != "" {
			failed++
		}
		emitReading(stdout, stderr, r, *asJSON)
	}
	if failed > 0 {
		if !*asJSON {
			fmt.Fprintf(stderr, "digitnet read: %d of %d inputs failed\n", failed, len(inputs))
		}
		return exitError{1}
	}
	return nil
}

// readFile reads the number in one image; problems go in Error.
func readFile(m *dn.Model, file string, show bool) reading {
	r := reading{File: file}
	fail := func(err error) reading {
		r.Error = strings.TrimPrefix(err.Error(), "digitnet: ")
		return r
	}
	img, err := openImage(file)
	if err != nil {
		return fail(err)
	}
	got, err := m.ReadNumber(img)
	if err != nil {
		return fail(err)
	}
	if got.Reason != "" {
		r.Reason = got.Reason
	} else {
		r.Text, r.Confidence = &got.Text, got.Confidence
		for _, d := range got.Digits {
			b := d.Box
			r.Digits = append(r.Digits, readingDigit{Digit: d.Digit, Confidence: d.Confidence, Unsure: d.Unsure,
				Box: [4]int{b.Min.X, b.Min.Y, b.Dx(), b.Dy()}})
		}
	}
	if show {
		out := strings.TrimSuffix(file, filepath.Ext(file)) + ".read.png"
		if err := fsutil.WriteFrom(out, 0o644, func(w io.Writer) error { return png.Encode(w, annotate(img, got)) }); err != nil {
			return fail(fmt.Errorf("--show: %w", err))
		}
		r.Shown = out
	}
	return r
}

func emitReading(stdout, stderr io.Writer, r reading, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(stdout, string(b))
		return
	}
	switch {
	case r.Error != "":
		fmt.Fprintf(stderr, "%s: error: %s\n", r.File, r.Error)
	case r.Text == nil:
		fmt.Fprintf(stdout, "%s: no digits (%s)\n", r.File, r.Reason)
	default:
		fmt.Fprintf(stdout, "%s: %s (%.2f)\n", r.File, *r.Text, r.Confidence)
	}
}

// annotate draws each digit's box and label (with its confidence) over img.
func annotate(img image.Image, r dn.Reading) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, img, b.Min, draw.Src)
	sure, unsure := color.RGBA{0, 160, 60, 255}, color.RGBA{220, 120, 0, 255}
	face := basicfont.Face7x13
	for _, d := range r.Digits {
		c := sure
		label := strconv.Itoa(d.Digit)
		if d.Unsure {
			c, label = unsure, label+"?"
		}
		label += fmt.Sprintf(" %.0f%%", 100*d.Confidence)
		box := d.Box.Inset(-2).Intersect(b)
		for t := range 2 { // a 2-pixel frame
			rect(out, box.Inset(t), c)
		}
		// The label above the box, or inside it at the top when there is no room.
		y := box.Min.Y - 3
		if y-13 < b.Min.Y {
			y = box.Min.Y + 14
		}
		dr := font.Drawer{Dst: out, Src: image.NewUniform(c), Face: face, Dot: fixed.P(box.Min.X, y)}
		dr.DrawString(label)
	}
	return out
}

func rect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetRGBA(x, r.Min.Y, c)
		img.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetRGBA(r.Min.X, y, c)
		img.SetRGBA(r.Max.X-1, y, c)
	}
}
