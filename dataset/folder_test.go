package dataset

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteMNISTFolder writes perClass MNIST images of each digit per split as dark ink on
// light paper PNGs in the class-folder layout, for tests.
func writeMNISTFolder(t testing.TB, dir string, perClass int) {
	t.Helper()
	tr, te, err := Load(context.Background(), Options{Dataset: "mnist"})
	if err != nil {
		t.Fatalf("loading MNIST: %v", err)
	}
	for _, s := range []*Set{tr, te} {
		split := map[string]string{"train": "train", "test": "test"}[s.Split]
		count := make([]int, 10)
		for i := 0; i < s.N; i++ {
			l := s.Labels[i]
			if count[l] >= perClass {
				continue
			}
			count[l]++
			img := image.NewGray(image.Rect(0, 0, 28, 28))
			for k, v := range s.Image(i) {
				img.Pix[k] = 255 - v // paper white, ink dark
			}
			var b bytes.Buffer
			_ = png.Encode(&b, img)
			d := filepath.Join(dir, split, fmt.Sprint(l))
			_ = os.MkdirAll(d, 0o755)
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%05d.png", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	writeMNISTFolder(t, dir, 20)
	bad := filepath.Join(dir, "train", "3", "broken.png")
	_ = os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n truncated"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "train", "3", "notes.txt"), []byte("not an image, ignored"), 0o644)
	if !IsFolder(dir) {
		t.Fatal("IsFolder(dir) = false for a class-folder layout")
	}
	var log bytes.Buffer
	tr, te, skipped, err := LoadFolder(context.Background(), dir, &log)
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 200 || te.N != 200 || len(tr.Classes) != 10 || len(tr.Images) != 200*784 {
		t.Errorf("train %d, test %d, classes %v", tr.N, te.N, tr.Classes)
	}
	if len(skipped) != 1 || skipped[0].File != bad || !strings.Contains(log.String(), "skipping "+bad) || !strings.Contains(log.String(), "skipped 1 of 201") {
		t.Errorf("skipped %+v, log:\n%s", skipped, log.String())
	}
	// The classes take turns, so any prefix or window of the set holds all of them (in
	// folder order diagnose's probes trained on some classes and were tested on others).
	for _, s := range []*Set{tr, te} {
		for lo := 0; lo+10 <= s.N; lo += 10 {
			seen := map[uint8]bool{}
			for _, l := range s.Labels[lo : lo+10] {
				seen[l] = true
			}
			if len(seen) != 10 {
				t.Fatalf("%s images %d-%d hold classes %v, want all ten", s.Split, lo, lo+9, seen)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	mk := func(files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			p := filepath.Join(dir, f)
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			_ = os.WriteFile(p, []byte("x"), 0o644)
		}
		return dir
	}
	cases := []struct {
		name, dir, want string
	}{
		{"one class", mk("train/a/1.png", "test/a/1.png"), "1 class folder(s) [a], need at least 2"},
		{"test adds a class", mk("train/a/1.png", "train/b/1.png", "test/c/1.png"), `has class "c"`},
		{"no images", mk("train/a/x.txt", "train/b/y.txt", "test/a/z.txt"), "no .png/.jpg/.jpeg/.gif images"},
		{"none readable", mk("train/a/1.png", "train/b/2.png", "test/a/1.png"), "none of its 2 images could be read"},
		{"no test folder", mk("train/a/1.png", "train/b/2.png"), "test"},
	}
	for _, c := range cases {
		_, _, _, err := LoadFolder(context.Background(), c.dir, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if IsFolder(t.TempDir()) {
		t.Error("IsFolder(empty dir) = true")
	}
}
