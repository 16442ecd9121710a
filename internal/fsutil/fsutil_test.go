package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplacesWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Errorf("after writing %q: read %q, %v", content, b, err)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestWriteFromFailureKeepsOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.bin")
	if err := WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	err := WriteFrom(path, 0o644, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFrom = %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q, want %q", b, "old")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want only the file", len(entries))
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "f"), nil, 0o644)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory = %v, want ErrNotExist", err)
	}
}

// TestWriteFilesAllOrNothing: a set whose last file cannot be written leaves every file
// of the old set as it was, and no temporary file; a set that can be written replaces
// them all.
func TestWriteFilesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	old := []File{{"a.txt", []byte("old a")}, {"b.txt", []byte("old b")}}
	if err := WriteFiles(dir, old, 0o644); err != nil {
		t.Fatal(err)
	}
	// A name too long for the file system: its temporary file cannot be created.
	bad := []File{{"a.txt", []byte("new a")}, {"b.txt", []byte("new b")}, {strings.Repeat("c", 300), []byte("c")}}
	if err := WriteFiles(dir, bad, 0o644); err == nil {
		t.Fatal("WriteFiles with an unwritable file succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d entries after a failed set, want the 2 old files", len(entries))
	}
	for _, f := range old {
		if b, _ := os.ReadFile(filepath.Join(dir, f.Name)); string(b) != string(f.Data) {
			t.Errorf("%s holds %q after a failed set, want %q", f.Name, b, f.Data)
		}
	}
	if err := WriteFiles(dir, bad[:2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range bad[:2] {
		b, _ := os.ReadFile(filepath.Join(dir, f.Name))
		fi, _ := os.Stat(filepath.Join(dir, f.Name))
		if string(b) != string(f.Data) || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s holds %q mode %v, want %q 0600", f.Name, b, fi.Mode().Perm(), f.Data)
		}
	}
}

func TestCheckWritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	if err := CheckWritable(dir); err != nil {
		t.Fatalf("CheckWritable of a new directory: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after the check the directory holds %d entries (%v), want it made and empty", len(entries), err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if err := CheckWritable(filepath.Join(file, "sub")); err == nil {
		t.Error("CheckWritable under a regular file succeeded")
	}
}
