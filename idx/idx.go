// Package idx reads and writes IDX files, the container MNIST and Fashion-MNIST ship in.
//
// An IDX file is a header followed by a payload:
//
//	offset  size      field
//	0       2         zero bytes 0x00 0x00
//	2       1         element type: 0x08 uint8, 0x09 int8, 0x0B int16,
//	                  0x0C int32, 0x0D float32, 0x0E float64
//	3       1         rank R, 1..MaxRank
//	4       4*R       dimensions, big-endian uint32, each > 0
//	4+4*R   P         payload: product(dims) elements, big-endian,
//	                  P = product(dims) * element size
//
// Nothing may follow the payload. A file may be gzip-compressed as a whole (the
// official MNIST downloads are); Decode and ReadFile detect that by the gzip magic
// 0x1f 0x8b and decompress transparently. Offsets in errors then count bytes of the
// decompressed IDX stream.
//
// Decoding validates before it allocates: the header is checked against Limits and,
// when the length of the stream is known, against that length; a payload of unknown
// provenance is read in chunks, so a header that claims more than the input holds
// costs at most about what the input actually holds.
package idx

import (
	"errors"
	"fmt"
)

// DataType is the element type byte of an IDX header.
type DataType byte

// The element types defined by the IDX format.
const (
	Uint8   DataType = 0x08
	Int8    DataType = 0x09
	Int16   DataType = 0x0B
	Int32   DataType = 0x0C
	Float32 DataType = 0x0D
	Float64 DataType = 0x0E
)

// Size returns the size of one element in bytes, or 0 for an unknown type.
func (t DataType) Size() int {
	switch t {
	case Uint8, Int8:
		return 1
	case Int16:
		return 2
	case Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// String returns the Go name of the element type, e.g. "uint8".
func (t DataType) String() string {
	switch t {
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int16:
		return "int16"
	case Int32:
		return "int32"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DataType(0x%02x)", byte(t))
}

// MaxRank is the largest rank Decode accepts. The format allows 255; real files
// use 1 (labels) to 4, and a small bound keeps nonsense headers short.
const MaxRank = 8

// Array is a decoded IDX file.
type Array struct {
	Type DataType
	Dims []int
	// Data is the raw payload as stored in the file: product(Dims) elements of
	// Type.Size() bytes each, big-endian. For Uint8 it is the elements themselves.
	Data []byte
}

// Limits bounds what Decode accepts before it allocates.
type Limits struct {
	// MaxBytes is the largest payload accepted. A header claiming more is
	// rejected before anything is allocated. Zero or negative means
	// DefaultLimits.MaxBytes.
	MaxBytes int64
	// Size, when positive, is the exact length in bytes of the (decompressed)
	// IDX stream, header included, e.g. a file's size or a recorded length.
	// A header disagreeing with it is rejected at once, and the payload is
	// then allocated in one piece instead of grown as data arrives.
	Size int64
}

// DefaultLimits accepts payloads up to 1 GiB.
var DefaultLimits = Limits{MaxBytes: 1 << 30}

// Error classes, for errors.Is. A truncated header or payload is
// io.ErrUnexpectedEOF instead.
var (
	ErrMagic    = errors.New("idx: bad magic")
	ErrType     = errors.New("idx: unknown element type")
	ErrRank     = errors.New("idx: bad rank")
	ErrDims     = errors.New("idx: bad dimensions")
	ErrTooLarge = errors.New("idx: payload too large")
	ErrTrailing = errors.New("idx: trailing data after payload")
	ErrGzip     = errors.New("idx: corrupt gzip stream")
	ErrLength   = errors.New("idx: data length does not match dimensions")
)

// FormatError reports a malformed IDX stream.
type FormatError struct {
	File   string // file name; empty when decoding a bare io.Reader
	Offset int64  // byte offset in the decompressed IDX stream where the problem is
	Msg    string // what is wrong, self-contained
	Err    error  // the class (ErrMagic, io.ErrUnexpectedEOF, ...) or a reader's error
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("idx: offset %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("idx: %s: offset %d: %s", e.File, e.Offset, e.Msg)
}

// Unwrap returns the error class.
func (e *FormatError) Unwrap() error { return e.Err }

// headerLen is the length of the header of a rank-r file.
func headerLen(rank int) int64 { return 4 + 4*int64(rank) }

// payloadSize returns product(dims)*t.Size() after checking t, the rank and the
// dimensions. A failure comes back as a FormatError whose Offset is relative to the
// start of the header; the decoder fills in File.
func payloadSize(t DataType, dims []int) (int64, *FormatError) {
	if t.Size() == 0 {
		return 0, &FormatError{Offset: 2, Msg: fmt.Sprintf("unknown element type 0x%02x", byte(t)), Err: ErrType}
	}
	if len(dims) < 1 || len(dims) > MaxRank {
		return 0, &FormatError{Offset: 3, Msg: fmt.Sprintf("rank %d, want 1..%d", len(dims), MaxRank), Err: ErrRank}
	}
	const maxInt64 = 1<<63 - 1
	n := int64(t.Size())
	for i, d := range dims {
		if d <= 0 || uint64(d) > 1<<32-1 {
			return 0, &FormatError{Offset: 4 + 4*int64(i), Msg: fmt.Sprintf("dimension %d is %d, want 1..%d", i, d, uint32(1<<32-1)), Err: ErrDims}
		}
		if n > maxInt64/int64(d) {
			return 0, &FormatError{Offset: 4, Msg: fmt.Sprintf("%v dimensions %v overflow int64", t, dims), Err: ErrTooLarge}
		}
		n *= int64(d)
	}
	if n > int64(maxInt) {
		return 0, &FormatError{Offset: 4, Msg: fmt.Sprintf("%v dimensions %v: %d-byte payload does not fit in an int", t, dims, n), Err: ErrTooLarge}
	}
	return n, nil
}

const maxInt = int(^uint(0) >> 1)
