package idx

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/digitnet/digitnet/internal/fsutil"
)

// Validate reports whether a can be encoded: a known element type, rank 1..MaxRank,
// every dimension in 1..2^32-1, and len(Data) equal to product(Dims)*Type.Size().
// The error wraps ErrType, ErrRank, ErrDims, ErrTooLarge or ErrLength.
func (a *Array) Validate() error {
	if a == nil {
		return fmt.Errorf("%w: nil array", ErrLength)
	}
	n, ferr := payloadSize(a.Type, a.Dims)
	if ferr != nil {
		return fmt.Errorf("%w: %s", ferr.Err, ferr.Msg)
	}
	if int64(len(a.Data)) != n {
		return fmt.Errorf("%w: %v %v needs %d bytes, Data has %d", ErrLength, a.Type, a.Dims, n, len(a.Data))
	}
	return nil
}

// Encode writes a to w as an uncompressed IDX stream, after validating it.
func Encode(w io.Writer, a *Array) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if err := encode(w, a); err != nil {
		return fmt.Errorf("idx: encode: %w", err)
	}
	return nil
}

// encode writes a validated a to w.
func encode(w io.Writer, a *Array) error {
	var h [4 + 4*MaxRank]byte
	h[2], h[3] = byte(a.Type), byte(len(a.Dims))
	for i, d := range a.Dims {
		binary.BigEndian.PutUint32(h[4+4*i:], uint32(d))
	}
	if _, err := w.Write(h[:headerLen(len(a.Dims))]); err != nil {
		return err
	}
	_, err := w.Write(a.Data)
	return err
}

// WriteFile writes a to path, gzip-compressed if gz is set. The write is atomic:
// the data goes to a temporary file in the same directory, which is synced and
// then renamed over path, so path holds either its old content or all of the new.
// The file gets mode 0644.
func WriteFile(path string, a *Array, gz bool) error {
	if err := a.Validate(); err != nil {
		return err
	}
	err := fsutil.WriteFrom(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if gz {
			zw := gzip.NewWriter(bw)
			if err := encode(zw, a); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
		} else if err := encode(bw, a); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("idx: write %s: %w", path, err)
	}
	return nil
}
