package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/digitnet/digitnet/internal/fsutil"
)

// fetch brings the spec's missing files into dir from the first source that can
// supply all of them. Files already in dir are kept: they were either verified
// when written by an earlier fetch or put there by the user.
func fetch(ctx context.Context, spec *Spec, dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	ferr := &FetchError{Dataset: spec.Name, Dir: dir}
	for _, src := range spec.Sources {
		var missing []File
		for _, f := range spec.Files() {
			if !isFile(filepath.Join(dir, f.Name)) && !isFile(filepath.Join(dir, f.Name+".gz")) {
				missing = append(missing, f)
			}
		}
		if len(missing) == 0 {
			break
		}
		logf(log, "dataset: fetching %s from %s into %s", spec.Name, src, dir)
		var err error
		for _, f := range missing {
			if err = fetchFile(ctx, src, f, dir); err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
		logf(log, "dataset: %s failed: %v", src, err)
		ferr.Sources = append(ferr.Sources, SourceError{Source: src.String(), Err: err})
		if ctx.Err() != nil {
			break // the other sources would fail the same way
		}
	}
	if findFiles(spec, dir) != nil {
		return nil
	}
	return ferr
}

// fetchFile copies file f from src into dir, uncompressed, verifying it on the
// way. The content goes to a temporary file in dir, which is renamed into place
// only once its size and hash are right; on any failure it is removed.
func fetchFile(ctx context.Context, src Source, f File, dir string) error {
	rc, where, err := src.Open(ctx, f.Name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return fsutil.WriteFrom(filepath.Join(dir, f.Name), 0o644, func(w io.Writer) error {
		return verify(ctxReader{ctx, rc}, w, where, f)
	})
}
