package digit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"testing"
)

// digitImage is a small drawn "7", dark on white.
func digitImage() *image.Gray {
	s := scene{name: "seven", w: 40, h: 40, digit: '7', box: centred(40, 40, 30, 0.7), pen: 4}
	return s.image().(*image.Gray)
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func encodeJPEG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func encodeGIF(img image.Image) []byte {
	p := image.NewPaletted(img.Bounds(), palette.Plan9)
	draw.Draw(p, p.Bounds(), img, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := gif.Encode(&buf, p, nil); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// pngHeader returns a PNG signature and an IHDR chunk (8-bit grayscale)
// claiming a w×h image, with a valid CRC, and nothing after it.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // depth, color type gray, compression, filter, interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// gifHeader returns a GIF header and logical screen descriptor claiming a
// w×h image, and nothing after it.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0) // no global color table
}

func TestDecode(t *testing.T) {
	img := digitImage()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"png", encodePNG(img)},
		{"jpeg", encodeJPEG(img)},
		{"gif", encodeGIF(img)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(bytes.NewReader(tc.data), DefaultLimits)
			if err != nil {
				t.Fatalf("Decode(%s): %v", tc.name, err)
			}
			if got.Bounds() != img.Bounds() {
				t.Fatalf("Decode(%s): bounds %v, want %v", tc.name, got.Bounds(), img.Bounds())
			}
			px, err := Preprocess(got)
			if err != nil {
				t.Fatalf("Preprocess(Decode(%s)): %v", tc.name, err)
			}
			want, _ := Preprocess(img)
			if iou := overlap(px, want); iou < 0.85 {
				t.Errorf("Preprocess(Decode(%s)): overlap with the original's %.3f, want ≥ 0.85\ngot\n%s\nwant\n%s", tc.name, iou, ASCII(px), ASCII(want))
			}
		})
	}
}

// TestDecodeBad is the table of broken and hostile inputs: each must fail
// with its class of error and a message starting "digit: ".
func TestDecodeBad(t *testing.T) {
	valid := encodePNG(digitImage())
	corrupt := bytes.Clone(valid)
	corrupt[len(corrupt)/2] ^= 0xff // inside IDAT: a checksum mismatch
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, DefaultLimits, ErrEmpty},
		{"text", []byte("hello, this is not an image\n"), DefaultLimits, ErrFormat},
		{"html", []byte("<!doctype html><html><body>nope</body></html>"), DefaultLimits, ErrFormat},
		{"png-signature-only", valid[:8], DefaultLimits, io.ErrUnexpectedEOF},
		{"png-truncated-header", valid[:20], DefaultLimits, io.ErrUnexpectedEOF},
		{"png-truncated-data", valid[:len(valid)/2], DefaultLimits, io.ErrUnexpectedEOF},
		{"png-no-end", valid[:len(valid)-12], DefaultLimits, io.ErrUnexpectedEOF},
		{"png-corrupt", corrupt, DefaultLimits, ErrCorrupt},
		{"png-0x0", pngHeader(0, 0), DefaultLimits, ErrEmpty},
		{"png-0x10", pngHeader(0, 10), DefaultLimits, ErrEmpty},
		{"png-100000x100000", pngHeader(100000, 100000), DefaultLimits, ErrTooLarge},
		{"png-4Gx4G", pngHeader(0xffffffff, 0xffffffff), DefaultLimits, ErrTooLarge},
		{"png-over-pixel-limit", valid, Limits{MaxPixels: 39 * 40}, ErrTooLarge},
		{"png-over-byte-limit", valid, Limits{MaxBytes: int64(len(valid) - 1)}, ErrTooLarge},
		{"gif-0x0", gifHeader(0, 0), DefaultLimits, ErrEmpty},
		{"gif-65535x65535", gifHeader(65535, 65535), DefaultLimits, ErrTooLarge},
		{"gif-truncated", encodeGIF(digitImage())[:60], DefaultLimits, io.ErrUnexpectedEOF},
		{"jpeg-truncated-header", encodeJPEG(digitImage())[:100], DefaultLimits, io.ErrUnexpectedEOF},
		{"jpeg-truncated-data", encodeJPEG(digitImage())[:400], DefaultLimits, io.ErrUnexpectedEOF},
		{"jpeg-soi-only", []byte{0xff, 0xd8}, DefaultLimits, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(bytes.NewReader(tc.data), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%s): got %v, want %v", tc.name, err, tc.want)
			}
			if tc.want == io.ErrUnexpectedEOF && !errors.Is(err, ErrCorrupt) { // a truncated image is corrupt too
				t.Errorf("Decode(%s): %v is not ErrCorrupt", tc.name, err)
			}
			if img != nil {
				t.Errorf("Decode(%s): got an image with the error", tc.name)
			}
			if !strings.HasPrefix(err.Error(), "digit: ") {
				t.Errorf("Decode(%s): error %q does not start with \"digit: \"", tc.name, err)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

// TestDecodeBombAllocates checks that an image whose header claims 10^10
// pixels is refused from its header, allocating next to nothing.
func TestDecodeBombAllocates(t *testing.T) {
	for _, data := range [][]byte{pngHeader(100000, 100000), gifHeader(65535, 65535)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Decode(bytes.NewReader(data), DefaultLimits)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Decode: got %v, want ErrTooLarge", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("Decode of a %d-byte bomb allocated %d bytes, want < 1 MiB", len(data), n)
		}
	}
}

// TestDecodeTransparentPNG: a drawing on a transparent canvas, black strokes,
// through PNG, is a digit (alpha composited on white).
func TestDecodeTransparentPNG(t *testing.T) {
	s := scene{name: "canvas", w: 280, h: 280, digit: '1', box: centred(280, 280, 200, 0.5), pen: 18, transparent: true}
	img, err := Decode(bytes.NewReader(encodePNG(s.image())), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	px, err := Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	cx, cy, box := moments(px)
	if box.Dy() < Box-1 || box.Dx() > 10 {
		t.Errorf("transparent \"1\": ink box %v, want tall and narrow\n%s", box, ASCII(px))
	}
	if abs(cx-14) > 1 || abs(cy-14) > 1 {
		t.Errorf("transparent \"1\": centre of mass (%.2f, %.2f), want (14, 14)", cx, cy)
	}
	// Fully transparent pixels are paper whatever their color channels say.
	m := image.NewNRGBA(image.Rect(0, 0, 50, 50))
	for i := range m.Pix {
		m.Pix[i] = 0
	}
	m.Set(3, 3, color.NRGBA{0, 0, 0, 0})
	if _, err := Preprocess(m); !errors.Is(err, ErrNoInk) {
		t.Errorf("Preprocess(transparent black): got %v, want ErrNoInk", err)
	}
}

func abs(x float64) float64 { return max(x, -x) }

// FuzzDecodePreprocess feeds arbitrary bytes through Decode and Preprocess:
// no panic, and either an error or 784 bytes.
func FuzzDecodePreprocess(f *testing.F) {
	img := digitImage()
	p, j, g := encodePNG(img), encodeJPEG(img), encodeGIF(img)
	for _, b := range [][]byte{p, j, g, p[:len(p)/2], j[:len(j)/2], g[:len(g)/2],
		pngHeader(0, 0), pngHeader(100000, 100000), gifHeader(3, 3), []byte("not an image")} {
		f.Add(b)
	}
	small := image.NewGray(image.Rect(0, 0, 3, 2))
	small.Pix = []uint8{255, 0, 255, 255, 0, 255}
	f.Add(encodePNG(small))
	f.Add(encodeGIF(small))
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 18} // small, so the fuzzer stays fast
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), lim)
		if err != nil {
			if img != nil {
				t.Fatalf("Decode: image and error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "digit: ") {
				t.Fatalf("Decode: error %q does not start with \"digit: \"", err)
			}
			return
		}
		px, err := Preprocess(img)
		if err != nil {
			if !errors.Is(err, ErrNoInk) {
				t.Fatalf("Preprocess(%v image): %v, want nil or ErrNoInk", img.Bounds(), err)
			}
			return
		}
		if len(px) != Size*Size {
			t.Fatalf("Preprocess: %d bytes, want %d", len(px), Size*Size)
		}
		_ = ASCII(px)
	})
}

// withOrientation returns JPEG data with an EXIF APP1 segment right after SOI whose
// IFD0 holds one entry, Orientation (0x0112) = o, in big-endian TIFF order.
func withOrientation(jpegData []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8))      // IFD0 offset
	binary.Write(&tiff, binary.BigEndian, uint16(1))      // one entry
	binary.Write(&tiff, binary.BigEndian, uint16(0x0112)) // Orientation
	binary.Write(&tiff, binary.BigEndian, uint16(3))      // SHORT
	binary.Write(&tiff, binary.BigEndian, uint32(1))      // count
	binary.Write(&tiff, binary.BigEndian, o)
	binary.Write(&tiff, binary.BigEndian, uint16(0)) // value padding
	binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpegData[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpegData[2:]...)
}

// A phone photo is stored as the sensor saw it, with an EXIF Orientation saying how to
// show it: Decode turns it upright, so the digit is read as the user sees it.
func TestDecodeEXIFOrientation(t *testing.T) {
	// 60×30: the left half dark, the right half light.
	src := image.NewGray(image.Rect(0, 0, 60, 30))
	for y := range 30 {
		for x := range 60 {
			src.Pix[y*src.Stride+x] = map[bool]uint8{true: 20, false: 230}[x < 30]
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	dark := func(img image.Image, x, y int) bool {
		r, _, _, _ := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
		return r < 0x8000
	}
	for _, c := range []struct {
		o                    uint16
		w, h                 int
		darkX, darkY, lx, ly int // a pixel that must be dark, one that must be light
	}{
		{1, 60, 30, 5, 15, 55, 15}, // as stored
		{3, 60, 30, 55, 15, 5, 15}, // turned 180°: the dark half on the right
		{6, 30, 60, 15, 5, 15, 55}, // turned 90° clockwise: the dark half on top
		{8, 30, 60, 15, 55, 15, 5}, // turned 90° counter-clockwise: at the bottom
	} {
		img, err := Decode(bytes.NewReader(withOrientation(buf.Bytes(), c.o)), Limits{})
		if err != nil {
			t.Fatalf("orientation %d: %v", c.o, err)
		}
		b := img.Bounds()
		if b.Dx() != c.w || b.Dy() != c.h || !dark(img, c.darkX, c.darkY) || dark(img, c.lx, c.ly) {
			t.Errorf("orientation %d: %v, dark at (%d,%d) %v, at (%d,%d) %v; want %d×%d, dark only at the first",
				c.o, b, c.darkX, c.darkY, dark(img, c.darkX, c.darkY), c.lx, c.ly, dark(img, c.lx, c.ly), c.w, c.h)
		}
	}
	// The data cut short still reads as truncated, with the EXIF segment in front.
	data := withOrientation(buf.Bytes(), 6)
	if _, err := Decode(bytes.NewReader(data[:len(data)/2]), Limits{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated JPEG with EXIF: %v, want io.ErrUnexpectedEOF", err)
	}
}
