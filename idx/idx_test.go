package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate the files in testdata/")

// header returns the IDX header for element type t and dims.
func header(t DataType, dims ...uint32) []byte {
	b := []byte{0, 0, byte(t), byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return b
}

// seq returns n bytes 0, 1, 2, ...
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// gz compresses b with a fixed (zero) gzip header, so output is reproducible.
func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func cat(bs ...[]byte) []byte { return slices.Concat(bs...) }

// small is a valid 3x2x2 uint8 file; images28 a valid 5x28x28 one.
var (
	small    = cat(header(Uint8, 3, 2, 2), seq(12))
	images28 = cat(header(Uint8, 5, 28, 28), seq(5*28*28))
)

// flip returns a copy of b with byte i inverted.
func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0xff
	return c
}

// brokenFiles are the deliberately malformed inputs in testdata/. Offsets into gzip
// files count decompressed bytes.
var brokenFiles = []struct {
	name   string
	data   func() []byte
	class  error
	offset int64
}{
	{"empty.idx", func() []byte { return nil }, io.ErrUnexpectedEOF, 0},
	{"truncated-magic.idx", func() []byte { return []byte{0} }, io.ErrUnexpectedEOF, 1},
	{"truncated-rank.idx", func() []byte { return []byte{0, 0, 8} }, io.ErrUnexpectedEOF, 3},
	{"truncated-dims.idx", func() []byte { return header(Uint8, 10, 28, 28)[:9] }, io.ErrUnexpectedEOF, 9},
	{"bad-magic-png.idx", func() []byte { return []byte("\x89PNG\r\n\x1a\n") }, ErrMagic, 0},
	{"bad-magic-second-byte.idx", func() []byte { return cat([]byte{0, 1, 8, 1}, small[4:]) }, ErrMagic, 0},
	{"bad-type.idx", func() []byte { return cat([]byte{0, 0, 7, 1, 0, 0, 0, 1}, []byte{1}) }, ErrType, 2},
	{"rank-zero.idx", func() []byte { return []byte{0, 0, 8, 0} }, ErrRank, 3},
	{"rank-nine.idx", func() []byte { return header(Uint8, 1, 1, 1, 1, 1, 1, 1, 1, 1) }, ErrRank, 3},
	{"zero-dim.idx", func() []byte { return header(Uint8, 0, 28, 28) }, ErrDims, 4},
	{"zero-second-dim.idx", func() []byte { return header(Uint8, 3, 0) }, ErrDims, 8},
	{"dims-overflow.idx", func() []byte {
		return cat(header(Float64, math.MaxUint32, math.MaxUint32, math.MaxUint32), seq(8))
	}, ErrTooLarge, 4},
	// 2^31 images of 28x28 (1.7 TB) with a single image behind the header.
	{"huge-2pow31-images.idx", func() []byte { return cat(header(Uint8, 1<<31, 28, 28), seq(784)) }, ErrTooLarge, 4},
	{"huge-2pow31-images.idx.gz", func() []byte { return gz(cat(header(Uint8, 1<<31, 28, 28), seq(784))) }, ErrTooLarge, 4},
	// 100000 images (78 MB, under the limit) with a single image behind the header:
	// rejected from the file size (or gzip size) before the payload is allocated.
	{"lying-count.idx", func() []byte { return cat(header(Uint8, 100000, 28, 28), seq(784)) }, io.ErrUnexpectedEOF, 800},
	{"lying-count.idx.gz", func() []byte { return gz(cat(header(Uint8, 100000, 28, 28), seq(784))) }, io.ErrUnexpectedEOF, 4},
	{"truncated-payload.idx", func() []byte { return small[:26] }, io.ErrUnexpectedEOF, 26},
	{"truncated-payload.idx.gz", func() []byte { return gz(small[:26]) }, io.ErrUnexpectedEOF, 26},
	{"trailing-garbage.idx", func() []byte { return cat(small, []byte("junk")) }, ErrTrailing, 28},
	{"trailing-garbage.idx.gz", func() []byte { return gz(cat(small, []byte("junk"))) }, ErrTrailing, 28},
	{"gzip-magic-only.idx.gz", func() []byte { return []byte{0x1f, 0x8b} }, ErrGzip, 0},
	{"gzip-bad-method.idx.gz", func() []byte { return flip(gz(small), 2) }, ErrGzip, 0},
	{"gzip-empty-content.idx.gz", func() []byte { return gz(nil) }, io.ErrUnexpectedEOF, 0},
	{"gzip-truncated.idx.gz", func() []byte { b := gz(images28); return b[:len(b)/2] }, ErrGzip, 163},
	{"gzip-corrupt-deflate.idx.gz", func() []byte { b := gz(images28); return flip(b, len(b)/2) }, ErrGzip, 169},
	{"gzip-bad-crc.idx.gz", func() []byte { b := gz(images28); return flip(b, len(b)-8) }, ErrGzip, 3936},
	{"gzip-bad-size.idx.gz", func() []byte { b := gz(images28); return flip(b, len(b)-4) }, ErrGzip, 3936},
	{"gzip-cut-trailer.idx.gz", func() []byte { b := gz(images28); return b[:len(b)-3] }, ErrGzip, 3936},
}

// validFiles are well-formed inputs in testdata/.
var validFiles = []struct {
	name string
	data func() []byte
	typ  DataType
	dims []int
}{
	{"valid-uint8.idx", func() []byte { return small }, Uint8, []int{3, 2, 2}},
	{"valid-uint8.idx.gz", func() []byte { return gz(small) }, Uint8, []int{3, 2, 2}},
	{"valid-labels.idx", func() []byte { return cat(header(Uint8, 10), seq(10)) }, Uint8, []int{10}},
	{"valid-images28.idx.gz", func() []byte { return gz(images28) }, Uint8, []int{5, 28, 28}},
	{"valid-int16.idx", func() []byte { return cat(header(Int16, 2, 3), seq(12)) }, Int16, []int{2, 3}},
	{"valid-float64.idx.gz", func() []byte { return gz(cat(header(Float64, 2), seq(16))) }, Float64, []int{2}},
	{"valid-multistream.idx.gz", func() []byte { return cat(gz(small[:10]), gz(small[10:])) }, Uint8, []int{3, 2, 2}},
}

func TestTestdata(t *testing.T) {
	if !*update {
		return
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range brokenFiles {
		if err := os.WriteFile(filepath.Join("testdata", f.name), f.data(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range validFiles {
		if err := os.WriteFile(filepath.Join("testdata", f.name), f.data(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrokenFiles(t *testing.T) {
	for _, tc := range brokenFiles {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.name)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to generate testdata)", err)
			}
			check := func(how string, err error, file string) {
				t.Helper()
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s %s: got error %v (%T), want a *FormatError", how, tc.name, err, err)
				}
				if !errors.Is(err, tc.class) {
					t.Errorf("%s %s: got error %q, want class %q", how, tc.name, err, tc.class)
				}
				if fe.File != file || fe.Offset != tc.offset {
					t.Errorf("%s %s: got file %q offset %d, want %q offset %d", how, tc.name, fe.File, fe.Offset, file, tc.offset)
				}
				want := fmt.Sprintf("offset %d: ", tc.offset)
				if file != "" {
					want = fmt.Sprintf("idx: %s: offset %d: ", file, tc.offset)
				}
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s %s: got message %q, want it to contain %q", how, tc.name, err, want)
				}
			}
			a, err := ReadFile(path, DefaultLimits)
			if a != nil {
				t.Errorf("ReadFile %s: got array %v %v, want nil", tc.name, a.Type, a.Dims)
			}
			check("ReadFile", err, path)
			// A bytes.Reader tells its length as the file does.
			_, err = Decode(bytes.NewReader(raw), DefaultLimits)
			check("Decode", err, "")
			// A bare reader hides it: the class is the same, the offset may be later.
			_, err = Decode(struct{ io.Reader }{bytes.NewReader(raw)}, DefaultLimits)
			var fe *FormatError
			if !errors.Is(err, tc.class) || !errors.As(err, &fe) || fe.Offset < tc.offset {
				t.Errorf("Decode %s from a bare reader: got %v, want class %q at offset %d or later", tc.name, err, tc.class, tc.offset)
			}
		})
	}
}

func TestValidFiles(t *testing.T) {
	for _, tc := range validFiles {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tc.name), DefaultLimits)
			if err != nil {
				t.Fatalf("ReadFile %s: %v", tc.name, err)
			}
			if a.Type != tc.typ || !slices.Equal(a.Dims, tc.dims) {
				t.Errorf("ReadFile %s: got %v %v, want %v %v", tc.name, a.Type, a.Dims, tc.typ, tc.dims)
			}
			n := tc.typ.Size()
			for _, d := range tc.dims {
				n *= d
			}
			if !bytes.Equal(a.Data, seq(n)) {
				t.Errorf("ReadFile %s: got data % x, want % x", tc.name, a.Data, seq(n))
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, typ := range []DataType{Uint8, Int8, Int16, Int32, Float32, Float64} {
		for _, dims := range [][]int{{1}, {7}, {3, 5}, {2, 28, 28}, {1, 2, 3, 1, 2, 3, 1, 2}} {
			n := typ.Size()
			for _, d := range dims {
				n *= d
			}
			in := &Array{Type: typ, Dims: dims, Data: seq(n)}
			name := fmt.Sprintf("%v%v", typ, dims)
			for _, compressed := range []bool{false, true} {
				var buf bytes.Buffer
				if err := Encode(&buf, in); err != nil {
					t.Fatalf("Encode %s: %v", name, err)
				}
				if got, want := buf.Len(), 4+4*len(dims)+n; got != want {
					t.Errorf("Encode %s: got %d bytes, want %d", name, got, want)
				}
				raw := buf.Bytes()
				if compressed {
					raw = gz(raw)
				}
				out, err := Decode(bytes.NewReader(raw), DefaultLimits)
				if err != nil {
					t.Fatalf("Decode %s (gzip %t): %v", name, compressed, err)
				}
				if out.Type != in.Type || !slices.Equal(out.Dims, in.Dims) || !bytes.Equal(out.Data, in.Data) {
					t.Errorf("Decode %s (gzip %t): got %v %v, want %v %v", name, compressed, out.Type, out.Dims, in.Type, in.Dims)
				}
			}
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	in := &Array{Type: Int32, Dims: []int{2, 3}, Data: seq(24)}
	for _, compressed := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("a-%t.idx", compressed))
		if err := WriteFile(path, in, compressed); err != nil {
			t.Fatalf("WriteFile %s: %v", path, err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b; got != compressed {
			t.Errorf("WriteFile %s: got gzip %t, want %t", path, got, compressed)
		}
		out, err := ReadFile(path, DefaultLimits)
		if err != nil {
			t.Fatalf("ReadFile %s: %v", path, err)
		}
		if out.Type != in.Type || !slices.Equal(out.Dims, in.Dims) || !bytes.Equal(out.Data, in.Data) {
			t.Errorf("ReadFile %s: got %v %v % x, want %v %v % x", path, out.Type, out.Dims, out.Data, in.Type, in.Dims, in.Data)
		}
	}
	// An invalid array and a missing directory leave nothing behind.
	bad := &Array{Type: Uint8, Dims: []int{4}, Data: seq(3)}
	if err := WriteFile(filepath.Join(dir, "bad.idx"), bad, false); !errors.Is(err, ErrLength) {
		t.Errorf("WriteFile of 3 bytes for [4]: got %v, want ErrLength", err)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "a.idx"), in, false); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("WriteFile into a missing directory: got %v, want an error naming it", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"a-false.idx", "a-true.idx"}; !slices.Equal(names, want) {
		t.Errorf("directory after writes: got %v, want %v", names, want)
	}
}

func TestEncodeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a     *Array
		class error
	}{
		{"nil", nil, ErrLength},
		{"unknown type", &Array{Type: 7, Dims: []int{1}, Data: []byte{0}}, ErrType},
		{"rank 0", &Array{Type: Uint8, Dims: nil, Data: []byte{0}}, ErrRank},
		{"rank 9", &Array{Type: Uint8, Dims: []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, Data: []byte{0}}, ErrRank},
		{"zero dim", &Array{Type: Uint8, Dims: []int{2, 0}}, ErrDims},
		{"negative dim", &Array{Type: Uint8, Dims: []int{-1}}, ErrDims},
		{"dim over uint32", &Array{Type: Uint8, Dims: []int{1 << 32}}, ErrDims},
		{"short data", &Array{Type: Int16, Dims: []int{3}, Data: seq(5)}, ErrLength},
		{"long data", &Array{Type: Uint8, Dims: []int{3}, Data: seq(4)}, ErrLength},
	} {
		err := Encode(io.Discard, tc.a)
		if !errors.Is(err, tc.class) {
			t.Errorf("Encode %s: got %v, want class %v", tc.name, err, tc.class)
		} else if !strings.HasPrefix(err.Error(), "idx: ") {
			t.Errorf("Encode %s: got message %q, want prefix %q", tc.name, err, "idx: ")
		}
	}
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lim    Limits
		class  error
		offset int64
	}{
		{"default", Limits{}, nil, 0},
		{"max bytes equal", Limits{MaxBytes: 12}, nil, 0},
		{"max bytes below", Limits{MaxBytes: 11}, ErrTooLarge, 4},
		{"size exact", Limits{Size: 28}, nil, 0},
		{"size larger", Limits{Size: 30}, ErrTrailing, 28},
		{"size smaller", Limits{Size: 20}, io.ErrUnexpectedEOF, 20},
	} {
		// struct{io.Reader} hides Len, so only lim.Size tells the stream length.
		_, err := Decode(struct{ io.Reader }{bytes.NewReader(small)}, tc.lim)
		var fe *FormatError
		switch {
		case tc.class == nil && err != nil:
			t.Errorf("Decode with %s %+v: got %v, want success", tc.name, tc.lim, err)
		case tc.class == nil:
		case !errors.Is(err, tc.class) || !errors.As(err, &fe) || fe.Offset != tc.offset:
			t.Errorf("Decode with %s %+v: got %v, want class %v at offset %d", tc.name, tc.lim, err, tc.class, tc.offset)
		}
	}
}

// TestNoAllocOnLyingHeader checks that a header claiming far more than the input
// holds costs memory in proportion to the input, not to the claim.
func TestNoAllocOnLyingHeader(t *testing.T) {
	claim := cat(header(Uint8, 1_000_000, 28, 28), seq(1000)) // claims 784 MB, under the 1 GiB limit
	for _, tc := range []struct {
		name string
		r    func() io.Reader
	}{
		{"bare reader", func() io.Reader { return struct{ io.Reader }{bytes.NewReader(claim)} }},
		{"bytes.Reader", func() io.Reader { return bytes.NewReader(claim) }},
		{"gzip", func() io.Reader { return struct{ io.Reader }{bytes.NewReader(gz(claim))} }},
	} {
		r := tc.r()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(r, DefaultLimits)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Decode %s: got %v, want io.ErrUnexpectedEOF", tc.name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 2*growStart {
			t.Errorf("Decode %s: allocated %d bytes for a 1 kB input, want at most %d", tc.name, got, 2*growStart)
		}
	}
}

// TestGrow reads a payload bigger than growStart through a reader of unknown length.
func TestGrow(t *testing.T) {
	n := growStart*2 + 12345
	in := &Array{Type: Uint8, Dims: []int{n}, Data: seq(n)}
	var buf bytes.Buffer
	if err := Encode(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := Decode(struct{ io.Reader }{&buf}, DefaultLimits)
	if err != nil {
		t.Fatalf("Decode of %d bytes: %v", n, err)
	}
	if !bytes.Equal(out.Data, in.Data) {
		t.Errorf("Decode of %d bytes: data differs", n)
	}
}

func TestReadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.idx")
	_, err := ReadFile(path, DefaultLimits)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "idx: ") {
		t.Errorf("ReadFile %s: got %v, want an idx: error wrapping os.ErrNotExist naming the file", path, err)
	}
}

func TestDataTypeString(t *testing.T) {
	for _, tc := range []struct {
		t    DataType
		size int
		name string
	}{
		{Uint8, 1, "uint8"}, {Int8, 1, "int8"}, {Int16, 2, "int16"}, {Int32, 4, "int32"},
		{Float32, 4, "float32"}, {Float64, 8, "float64"}, {0x07, 0, "DataType(0x07)"},
	} {
		if got := tc.t.Size(); got != tc.size {
			t.Errorf("%v.Size(): got %d, want %d", tc.t, got, tc.size)
		}
		if got := tc.t.String(); got != tc.name {
			t.Errorf("DataType(0x%02x).String(): got %q, want %q", byte(tc.t), got, tc.name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range brokenFiles {
		f.Add(tc.data())
	}
	for _, tc := range validFiles {
		f.Add(tc.data())
	}
	f.Add(cat(header(Float32, 1, 1), seq(4)))
	f.Add(cat(header(Int8, 1), seq(1)))
	// A small limit keeps decompression bombs cheap, so the fuzzer stays fast.
	lim := Limits{MaxBytes: 1 << 16}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Decode(bytes.NewReader(in), lim)
		if err != nil {
			var fe *FormatError
			if a != nil || !errors.As(err, &fe) {
				t.Fatalf("Decode: got array %v and error %v (%T), want nil and a *FormatError", a, err, err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Encode(&buf, a); err != nil {
			t.Fatalf("Encode of a decoded array %v %v: %v", a.Type, a.Dims, err)
		}
		if !(len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b) && !bytes.Equal(buf.Bytes(), in) {
			t.Fatalf("re-encoding an uncompressed input changed it:\n got % x\nwant % x", buf.Bytes(), in)
		}
		b, err := Decode(&buf, lim)
		if err != nil {
			t.Fatalf("Decode of the re-encoded array: %v", err)
		}
		if b.Type != a.Type || !slices.Equal(b.Dims, a.Dims) || !bytes.Equal(b.Data, a.Data) {
			t.Fatalf("round trip: got %v %v, want %v %v", b.Type, b.Dims, a.Type, a.Dims)
		}
	})
}
