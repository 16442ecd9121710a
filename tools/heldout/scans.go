package main

// Decoders of the real handwriting scans held out from training: USPS, Semeion and
// UCI optdigits-orig. Each gives the digits as ink masks (1 = ink) at their own
// small resolution, with a reference back to the line or record they came from.
// The formats are described in SOURCES.md §5.

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/internal/synth"
)

// scan is one scanned digit.
type scan struct {
	label int
	mask  *synth.Mask // 1 = ink
	ref   string      // where it came from: file and record number
}

// readUSPS decodes a USPS "zip" file (gzip or plain text): one digit a line, its
// label then 256 values in [-1, 1], -1 the background, row-major 16×16.
func readUSPS(path string) ([]scan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	return parseUSPS(r, path)
}

func parseUSPS(r io.Reader, name string) ([]scan, error) {
	var out []scan
	err := eachLine(r, func(n int, line string) error {
		v, err := floats(line)
		if err != nil || len(v) != 257 {
			return fmt.Errorf("%s:%d: want a label and 256 numbers (%d numbers, %v)", name, n, len(v), err)
		}
		label := int(v[0])
		if float64(label) != v[0] || label < 0 || label > 9 {
			return fmt.Errorf("%s:%d: label %g is not a digit", name, n, v[0])
		}
		m := synth.NewMask(16, 16)
		for i, x := range v[1:] {
			m.Pix[i] = float32(min(max((x+1)/2, 0), 1))
		}
		out = append(out, scan{label, m, fmt.Sprintf("%s:%d", filepath.Base(name), n)})
		return nil
	})
	return out, err
}

// readSemeion decodes semeion.data: one digit a line, 256 values 0 or 1 (16×16
// row-major, 1 = ink) then 10 one-hot label values.
func readSemeion(path string) ([]scan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSemeion(f, path)
}

func parseSemeion(r io.Reader, name string) ([]scan, error) {
	var out []scan
	err := eachLine(r, func(n int, line string) error {
		v, err := floats(line)
		if err != nil || len(v) != 266 {
			return fmt.Errorf("%s:%d: want 266 numbers (%d numbers, %v)", name, n, len(v), err)
		}
		label := -1
		for d, x := range v[256:] {
			if x == 1 {
				if label >= 0 {
					return fmt.Errorf("%s:%d: two labels (%d and %d)", name, n, label, d)
				}
				label = d
			}
		}
		if label < 0 {
			return fmt.Errorf("%s:%d: no label among the last 10 values", name, n)
		}
		m := synth.NewMask(16, 16)
		for i, x := range v[:256] {
			m.Pix[i] = float32(x)
		}
		out = append(out, scan{label, m, fmt.Sprintf("%s:%d", filepath.Base(name), n)})
		return nil
	})
	return out, err
}

// readOptdigits decodes a UCI optdigits-orig file: a text header, then for each
// digit 32 lines of 32 characters '0' or '1' (1 = ink) and a line with the label;
// the windep file ends with "EOF".
func readOptdigits(path string) ([]scan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseOptdigits(f, path)
}

func parseOptdigits(r io.Reader, name string) ([]scan, error) {
	var out []scan
	var rows []string
	first := 0 // line number of the digit's first row
	err := eachLine(r, func(n int, line string) error {
		line = strings.TrimSpace(line)
		switch {
		case isBitmapRow(line) && len(rows) < 32:
			if len(rows) == 0 {
				first = n
			}
			rows = append(rows, line)
		case len(rows) == 32:
			label, err := strconv.Atoi(line)
			if err != nil || label < 0 || label > 9 {
				return fmt.Errorf("%s:%d: want the label of the digit above, got %q", name, n, line)
			}
			m := synth.NewMask(32, 32)
			for y, row := range rows {
				for x, c := range row {
					if c == '1' {
						m.Pix[y*32+x] = 1
					}
				}
			}
			out = append(out, scan{label, m, fmt.Sprintf("%s:%d", filepath.Base(name), first)})
			rows = rows[:0]
		case len(rows) > 0:
			return fmt.Errorf("%s:%d: digit cut short after %d rows", name, n, len(rows))
		}
		return nil // header lines, "EOF"
	})
	if err == nil && len(rows) > 0 {
		err = fmt.Errorf("%s: %w: last digit has %d rows and no label", name, io.ErrUnexpectedEOF, len(rows))
	}
	return out, err
}

func isBitmapRow(s string) bool {
	if len(s) != 32 {
		return false
	}
	return strings.Trim(s, "01") == ""
}

// eachLine calls f with each non-blank line and its 1-based number.
func eachLine(r io.Reader, f func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := f(n, sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}

func floats(line string) ([]float64, error) {
	fields := strings.Fields(line)
	v := make([]float64, len(fields))
	for i, s := range fields {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		v[i] = x
	}
	return v, nil
}
