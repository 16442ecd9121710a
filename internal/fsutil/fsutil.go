// Package fsutil writes files atomically: a reader sees the old file or the whole new
// one, never a part, even if the process dies mid-write.
package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFile writes data to path atomically with the given permissions.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom writes what write produces to path atomically: into a temporary file in the
// same directory, synced, then renamed over path, and the directory synced. On any error
// the temporary file is removed and path is left as it was. Errors are returned as they
// come (the os errors name the file); callers add their own context.
func WriteFrom(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// File is a file's name and contents, for WriteFiles.
type File struct {
	Name string
	Data []byte
}

// WriteFiles writes files into dir as a set: each into a temporary file, synced, and
// only when all are written, each renamed over its name. A failure while writing (a
// full disk) leaves every file in dir as it was and removes the temporary files; only a
// failing rename, which needs no space, could leave a mix.
func WriteFiles(dir string, files []File, perm os.FileMode) (err error) {
	tmps := make([]string, 0, len(files))
	defer func() {
		if err != nil {
			for _, t := range tmps {
				os.Remove(t)
			}
		}
	}()
	for _, f := range files {
		tmp, err := os.CreateTemp(dir, "."+f.Name+".tmp-*")
		if err != nil {
			return err
		}
		tmps = append(tmps, tmp.Name())
		if err := writeSynced(tmp, f.Data, perm); err != nil {
			return err
		}
	}
	for i, f := range files {
		if err := os.Rename(tmps[i], filepath.Join(dir, f.Name)); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeSynced writes data to f, sets its permissions, syncs and closes it.
func writeSynced(f *os.File, data []byte, perm os.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync directories; the rename itself succeeded.
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// CheckWritable makes dir (and its parents) if it does not exist, and checks that a file
// can be created in it, by creating and removing one. It cannot promise that a later
// write fits on the disk; it catches a read-only or missing place before work is done
// for it.
func CheckWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".digitnet-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	return err
}
