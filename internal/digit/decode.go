package digit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/disintegration/imaging"

	// Register the formats Decode accepts.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
)

// Limits bounds what Decode accepts. Both are checked before any pixel is
// decoded: MaxBytes while reading, MaxPixels against the dimensions in the
// image header, so a small file claiming a huge image (a decompression bomb)
// is rejected without allocating it.
type Limits struct {
	// MaxBytes is the largest input accepted. Zero or negative means
	// DefaultLimits.MaxBytes.
	MaxBytes int64
	// MaxPixels is the largest width×height accepted. Zero or negative means
	// DefaultLimits.MaxPixels.
	MaxPixels int64
}

// DefaultLimits accepts up to 32 MiB of data and 40 megapixels (8000×5000).
// A 40-megapixel image costs Preprocess about 40 MB for its grayscale copy on
// top of what the decoder allocates (about 4 bytes a pixel for PNG); when it
// looks again with paper around the image (Analyze: a tight crop, or no ink
// found on a page that is not plain) about 320 MB in all at 8000×5000 (the
// padded image has 2.25 times the pixels, or up to four times for a thin one,
// and is copied once more to be analysed). A JPEG turned upright by its EXIF
// Orientation is copied once, at 4 bytes a pixel.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxPixels: 40_000_000}

func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	return l
}

// Decode reads a PNG, JPEG or GIF image (the first frame of an animated GIF)
// from r, enforcing lim; a JPEG is turned upright as its EXIF Orientation
// says. It reads at most lim.MaxBytes+1 bytes of r.
//
// The error is ErrFormat for data in no known format, io.ErrUnexpectedEOF
// for an image cut short, ErrCorrupt for other invalid data, ErrEmpty for no
// data or a 0×0 image, and ErrTooLarge when lim is exceeded; each is wrapped
// in a message saying what was found.
func Decode(r io.Reader, lim Limits) (image.Image, error) {
	lim = lim.orDefault()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("digit: reading image: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no data", ErrEmpty)
	}
	// image/png rejects a zero dimension as a generic format error; look at
	// its header first so that case reads as ErrEmpty like the others.
	if w, h, ok := pngSize(data); ok {
		if err := checkSize("png", w, h, lim); err != nil {
			return nil, err
		}
	}
	rd := &eofReader{r: bytes.NewReader(data)}
	cfg, format, err := image.DecodeConfig(rd)
	if err != nil {
		return nil, decodeError(format, err, rd.eof)
	}
	if err := checkSize(format, int64(cfg.Width), int64(cfg.Height), lim); err != nil {
		return nil, err
	}
	rd = &eofReader{r: bytes.NewReader(data)}
	// A phone stores a photo as its sensor saw it and says in the JPEG's EXIF
	// Orientation how to turn it upright, as viewers show it: a digit photographed
	// holding the phone upright is otherwise lying on its side.
	img, err := imaging.Decode(rd, imaging.AutoOrientation(true))
	if err != nil {
		return nil, decodeError(format, err, rd.eof)
	}
	if img.Bounds().Empty() {
		return nil, fmt.Errorf("%w: %s image has bounds %v", ErrEmpty, format, img.Bounds())
	}
	return img, nil
}

// checkSize reports whether a w×h image is acceptable under lim.
func checkSize(format string, w, h int64, lim Limits) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: %s image is %d×%d", ErrEmpty, format, w, h)
	}
	if w > lim.MaxPixels/h {
		return fmt.Errorf("%w: %s image is %d×%d, more than %d pixels", ErrTooLarge, format, w, h, lim.MaxPixels)
	}
	return nil
}

// pngSize returns the dimensions in the IHDR chunk of PNG data, if data starts
// like a PNG file.
//
//	offset  size  field
//	0       8     signature 89 50 4E 47 0D 0A 1A 0A
//	8       4     chunk length (13)
//	12      4     chunk type "IHDR"
//	16      4     width, big-endian
//	20      4     height, big-endian
func pngSize(data []byte) (w, h int64, ok bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(data) < 24 || string(data[:8]) != sig || string(data[12:16]) != "IHDR" {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint32(data[16:])), int64(binary.BigEndian.Uint32(data[20:])), true
}

// decodeError classifies an error from image.DecodeConfig or image.Decode,
// given whether the decoder tried to read past the end of the data.
func decodeError(format string, err error, eof bool) error {
	if errors.Is(err, image.ErrFormat) {
		return ErrFormat
	}
	// The decoders do not report truncation uniformly (image/png says "not
	// enough pixel data", image/jpeg "short Huffman data", image/gif formats
	// io.ErrUnexpectedEOF with %v), but each one asks for more data than
	// there is.
	if eof || errors.Is(err, io.ErrUnexpectedEOF) { // corrupt too: callers test for ErrCorrupt
		return fmt.Errorf("%w: truncated %s image: %w", ErrCorrupt, format, io.ErrUnexpectedEOF)
	}
	// The decoders' messages name the format ("png: invalid format: ...").
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// eofReader reads from r and records whether r reported io.EOF: whether
// its reader asked for more than there was.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}
