package dataset

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	gzip "github.com/klauspost/compress/gzip"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/digitnet/digitnet/idx"
)

// readAll decodes the files at paths concurrently, verifying each one's hash.
func readAll(ctx context.Context, spec *Spec, paths []string) ([]*idx.Array, error) {
	files := spec.Files()
	arrays := make([]*idx.Array, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i := range files {
		wg.Go(func() { arrays[i], errs[i] = readFile(ctx, paths[i], files[i]) })
	}
	wg.Wait()
	return arrays, errors.Join(errs...)
}

// readFile decodes the IDX file at path (gzip or plain) and checks its content
// against f, hashing the decompressed stream as the decoder reads it.
func readFile(ctx context.Context, path string, f File) (*idx.Array, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer fh.Close()
	r, err := decompress(ctxReader{ctx, fh})
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	h := newHasher()
	defer h.Close()
	a, err := idx.Decode(io.TeeReader(r, h), idx.Limits{MaxBytes: f.Size, Size: f.Size})
	if err != nil {
		if fe := (*idx.FormatError)(nil); errors.As(err, &fe) {
			fe.File = path
			return nil, err
		}
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	if got := h.Sum(); got != f.SHA256 {
		return nil, &ChecksumError{File: path, Got: got, Want: f.SHA256}
	}
	return a, nil
}

// verifyAll checks the hashes of the files at paths concurrently.
func verifyAll(ctx context.Context, spec *Spec, paths []string) error {
	files := spec.Files()
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			fh, err := os.Open(paths[i])
			if err != nil {
				errs[i] = fmt.Errorf("dataset: %w", err)
				return
			}
			defer fh.Close()
			errs[i] = verify(ctxReader{ctx, fh}, io.Discard, paths[i], f)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// verify copies the decompressed content of r to w, checking its size and hash
// against f. It reads r to its end, so that gzip checks its own checksum too.
func verify(r io.Reader, w io.Writer, where string, f File) error {
	r, err := decompress(r)
	if err != nil {
		return fmt.Errorf("dataset: %s: %w", where, err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(r, f.Size+1), make([]byte, 256<<10))
	switch {
	case err != nil:
		return fmt.Errorf("dataset: %s: %w", where, err)
	case n > f.Size:
		return fmt.Errorf("dataset: %s: uncompressed content is longer than %d bytes", where, f.Size)
	case n < f.Size:
		return fmt.Errorf("dataset: %s: uncompressed content has %d bytes, want %d", where, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return &ChecksumError{File: where, Got: got, Want: f.SHA256}
	}
	return nil
}

// decompress returns r's content, gunzipped if it starts with the gzip magic.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil // a short file fails later, as a truncated IDX
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip stream: %w", err)
	}
	return gzipReader{zr}, nil
}

// gzipReader names gzip in its errors, which the decoder then reports with the
// file and offset.
type gzipReader struct{ r *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("corrupt gzip stream: %w", err)
	}
	return n, err
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// hasher computes SHA-256 in a goroutine of its own, so that hashing (about
// 2 GB/s with SHA-NI) overlaps reading and decompression instead of adding to
// them. Write copies into one of a few buffers; Close must be called.
type hasher struct {
	h    hash.Hash
	cur  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	once sync.Once
}

const (
	hashBufs   = 4
	hashBufLen = 256 << 10
)

func newHasher() *hasher {
	w := &hasher{
		h:    sha256.New(),
		full: make(chan []byte, hashBufs),
		free: make(chan []byte, hashBufs),
		done: make(chan struct{}),
	}
	for range hashBufs - 1 {
		w.free <- make([]byte, 0, hashBufLen)
	}
	w.cur = make([]byte, 0, hashBufLen)
	go func() {
		for b := range w.full {
			w.h.Write(b)
			w.free <- b[:0]
		}
		close(w.done)
	}()
	return w
}

func (w *hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(w.cur[len(w.cur):cap(w.cur)], p)
		w.cur, p = w.cur[:len(w.cur)+k], p[k:]
		if len(w.cur) == cap(w.cur) {
			w.full <- w.cur
			w.cur = <-w.free
		}
	}
	return n, nil
}

// Close flushes and stops the hashing goroutine; it may be called more than once.
func (w *hasher) Close() {
	w.once.Do(func() {
		if len(w.cur) > 0 {
			w.full <- w.cur
		}
		close(w.full)
		<-w.done
	})
}

// Sum closes w and returns the hex SHA-256 of everything written.
func (w *hasher) Sum() string {
	w.Close()
	return hex.EncodeToString(w.h.Sum(nil))
}

// newSet checks a pair of decoded image and label files and makes a Set of them.
func newSet(spec *Spec, split string, images, labels *idx.Array, imagesPath, labelsPath string) (*Set, error) {
	if d := images.Dims; images.Type != idx.Uint8 || len(d) != 3 || d[1] != Rows || d[2] != Cols {
		return nil, fmt.Errorf("dataset: %s: images are %v %v, want uint8 [N %d %d]", imagesPath, images.Type, d, Rows, Cols)
	}
	if labels.Type != idx.Uint8 || len(labels.Dims) != 1 {
		return nil, fmt.Errorf("dataset: %s: labels are %v %v, want uint8 [N]", labelsPath, labels.Type, labels.Dims)
	}
	if n, m := images.Dims[0], labels.Dims[0]; n != m {
		return nil, fmt.Errorf("dataset: %s has %d images but %s has %d labels", imagesPath, n, labelsPath, m)
	}
	for i, l := range labels.Data {
		if int(l) >= len(spec.Classes) {
			return nil, fmt.Errorf("dataset: %s: label %d is %d, want < %d", labelsPath, i, l, len(spec.Classes))
		}
	}
	return &Set{
		Name:    spec.Name,
		Split:   split,
		N:       images.Dims[0],
		Rows:    Rows,
		Cols:    Cols,
		Images:  images.Data,
		Labels:  labels.Data,
		Classes: spec.Classes,
	}, nil
}
