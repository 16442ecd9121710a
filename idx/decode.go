package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// readChunk is the most the decoder asks of its reader in one Read call
	// while reading the payload. Chunked reads let a consumer of the stream
	// (a hash tee, say) work concurrently with the producer.
	readChunk = 1 << 20
	// growStart is the first allocation for a payload whose stream length is
	// unknown; the buffer then doubles as data actually arrives.
	growStart = 4 << 20
	// maxInflate bounds how far deflate can expand its input (1032:1 for the
	// longest back-references); with the compressed length known it gives an
	// upper bound on the decompressed length.
	maxInflate = 1032
)

// Decode reads one IDX array from r. A gzip-compressed stream is decompressed
// transparently. Nothing may follow the payload.
//
// If r has a Len() int method (bytes.Reader, bytes.Buffer, strings.Reader), it is
// taken as the number of bytes left in r: a header claiming more fails before
// anything is allocated. Errors are *FormatError values, or a *FormatError
// wrapping the reader's error.
func Decode(r io.Reader, lim Limits) (*Array, error) {
	d := decoder{lim: lim, inLen: -1}
	if l, ok := r.(interface{ Len() int }); ok {
		d.inLen = int64(l.Len())
	}
	return d.decode(r)
}

// ReadFile reads the IDX file at path, which may be gzip-compressed. Errors name
// the file.
func ReadFile(path string, lim Limits) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("idx: %w", err)
	}
	defer f.Close()
	d := decoder{file: path, lim: lim, inLen: -1}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		d.inLen = fi.Size()
	}
	return d.decode(f)
}

type decoder struct {
	file  string
	lim   Limits
	inLen int64 // length of the raw input, compressed or not; -1 when unknown
	gz    bool  // reading through gzip: read errors are ErrGzip
}

func (d *decoder) decode(r io.Reader) (*Array, error) {
	maxBytes := d.lim.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultLimits.MaxBytes
	}
	maxBytes = min(maxBytes, 1<<62) // so that header+payload cannot overflow
	// size is the exact length of the (decompressed) stream, 0 when unknown;
	// bound an upper bound on it, -1 when unknown.
	size := d.lim.Size
	bound := int64(-1)

	var h [4 + 4*MaxRank]byte
	n, err := fill(r, h[:4])
	if n >= 2 && h[0] == 0x1f && h[1] == 0x8b {
		d.gz = true
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(io.MultiReader(bytes.NewReader(h[:n]), r)); err != nil {
			return nil, d.readErr(0, err, "gzip header")
		}
		if d.inLen >= 0 && d.inLen <= (1<<63-1)/maxInflate {
			bound = d.inLen * maxInflate
		}
		r = zr
		n, err = fill(r, h[:4])
	} else if size <= 0 && d.inLen >= 0 {
		size = d.inLen
	}
	// Check what arrived before complaining that more did not.
	if n >= 1 && h[0] != 0 || n >= 2 && h[1] != 0 {
		return nil, d.errorf(0, ErrMagic, "bad magic % x, want 00 00", h[:min(n, 2)])
	}
	if n >= 3 && DataType(h[2]).Size() == 0 {
		return nil, d.errorf(2, ErrType, "unknown element type 0x%02x", h[2])
	}
	if n >= 4 && (h[3] == 0 || h[3] > MaxRank) {
		return nil, d.errorf(3, ErrRank, "rank %d, want 1..%d", h[3], MaxRank)
	}
	if err != nil {
		if n == 0 && err == io.EOF {
			return nil, d.errorf(0, io.ErrUnexpectedEOF, "empty input")
		}
		return nil, d.readErr(int64(n), err, "header")
	}
	typ, rank := DataType(h[2]), int(h[3])
	hlen := headerLen(rank)
	m, err := fill(r, h[4:hlen])
	if err != nil {
		return nil, d.readErr(4+int64(m), err, "header")
	}
	dims := make([]int, rank)
	for i := range dims {
		v := binary.BigEndian.Uint32(h[4+4*i:])
		if uint64(v) > uint64(maxInt) {
			return nil, d.errorf(4+4*int64(i), ErrTooLarge, "dimension %d is %d, more than an int holds", i, v)
		}
		dims[i] = int(v)
	}
	psize, ferr := payloadSize(typ, dims)
	if ferr != nil {
		ferr.File = d.file
		return nil, ferr
	}
	switch {
	case psize > maxBytes:
		return nil, d.errorf(4, ErrTooLarge, "%v %v claims a %d-byte payload, limit is %d", typ, dims, psize, maxBytes)
	case size > 0 && hlen+psize > size:
		return nil, d.errorf(size, io.ErrUnexpectedEOF, "%v %v claims a %d-byte payload, but the stream ends at %d", typ, dims, psize, size)
	case size > 0 && hlen+psize < size:
		return nil, d.errorf(hlen+psize, ErrTrailing, "%d bytes after the payload", size-hlen-psize)
	case bound >= 0 && hlen+psize > bound:
		return nil, d.errorf(4, io.ErrUnexpectedEOF, "%v %v claims a %d-byte payload, more than %d gzip bytes can hold", typ, dims, psize, d.inLen)
	}

	data, err := readPayload(r, psize, size > 0)
	if err != nil {
		return nil, d.readErr(hlen+int64(len(data)), err, "payload")
	}
	// The stream must end here; reading on also makes gzip verify its checksum.
	var one [1]byte
	if k, err := fill(r, one[:]); k > 0 {
		return nil, d.errorf(hlen+psize, ErrTrailing, "trailing data after the %d-byte payload", psize)
	} else if err != io.EOF {
		return nil, d.readErr(hlen+psize, err, "end of stream")
	}
	return &Array{Type: typ, Dims: dims, Data: data}, nil
}

// readPayload reads n bytes in chunks of at most readChunk. When exact is false
// (n comes from an unverified header) the buffer starts small and grows only as
// data arrives. On error it returns what it read so far.
func readPayload(r io.Reader, n int64, exact bool) ([]byte, error) {
	c := n
	if !exact {
		c = min(n, growStart)
	}
	buf := make([]byte, 0, c)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(2*int64(cap(buf)), n))
			copy(nb, buf)
			buf = nb
		}
		end := min(cap(buf), len(buf)+readChunk)
		k, err := fill(r, buf[len(buf):end])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// fill is io.ReadFull without the error translation: it returns the reader's
// error unchanged, io.EOF included, so truncation can be told from a failing
// reader (gzip reports a cut compressed stream as io.ErrUnexpectedEOF).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			if n == len(p) && err == io.EOF {
				return n, nil // the next Read reports EOF again
			}
			return n, err
		}
	}
	return n, nil
}

func (d *decoder) errorf(off int64, class error, format string, args ...any) *FormatError {
	return &FormatError{File: d.file, Offset: off, Msg: fmt.Sprintf(format, args...), Err: class}
}

// readErr turns an error from the stream at offset off into a FormatError.
func (d *decoder) readErr(off int64, err error, where string) *FormatError {
	switch {
	case d.gz:
		if err == io.EOF { // clean end of a valid gzip stream: IDX truncated
			return d.errorf(off, io.ErrUnexpectedEOF, "unexpected EOF in %s", where)
		}
		return d.errorf(off, errors.Join(ErrGzip, err), "corrupt gzip stream: %v", err)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return d.errorf(off, io.ErrUnexpectedEOF, "unexpected EOF in %s", where)
	}
	return d.errorf(off, err, "read %s: %v", where, err)
}
