package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/digitnet/digitnet/dataset"
)

// TestFontGroupsDisjoint: a face is held out or for training, never both. Only
// fonts-nanum-extra ships faces of both groups (NanumPen held out, NanumBrush
// for training).
func TestFontGroupsDisjoint(t *testing.T) {
	stem := func(f face) string { return strings.ToLower(strings.TrimSuffix(f.file, filepath.Ext(f.file))) }
	held := map[string]bool{}
	for _, f := range heldOutFaces {
		held[stem(f)] = true
	}
	for _, f := range trainingFaces {
		if held[stem(f)] {
			t.Errorf("%s %s is in both font groups", f.pkg, f.file)
		}
	}
	heldPkgs := packages(heldOutFaces)
	for _, p := range packages(trainingFaces) {
		for _, h := range heldPkgs {
			if p == h && p != "fonts-nanum-extra" {
				t.Errorf("package %s has faces in both groups", p)
			}
		}
	}
}

func TestCheckPlaces(t *testing.T) {
	repo, err := filepath.Abs("../..") // this module's root
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, tc := range []struct {
		out, train string
		ok         bool
	}{
		{filepath.Join(tmp, "heldout"), "", true},
		{filepath.Join(tmp, "heldout"), filepath.Join(tmp, "train"), true},
		{filepath.Join(repo, "testdata", "heldout"), "", false},
		{"", filepath.Join(repo, "x"), false},
		{filepath.Join(tmp, "a"), filepath.Join(tmp, "a", "train"), false},
		{filepath.Join(tmp, "a", "b"), filepath.Join(tmp, "a"), false},
		{filepath.Join(tmp, "a"), filepath.Join(tmp, "a"), false},
	} {
		if err := checkPlaces(tc.out, tc.train); (err == nil) != tc.ok {
			t.Errorf("checkPlaces(%q, %q) = %v, want ok %v", tc.out, tc.train, err, tc.ok)
		}
	}
}

func TestRefusesForeignDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "usps")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newSet(dir, "usps"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("newSet over a directory without %s: error %v, want a refusal", marker, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Errorf("the foreign file is gone: %v", err)
	}
}

// fakeFonts makes a font directory where the Go fonts stand in for two held-out
// faces and one training face, so the program runs without Debian's fonts.
func fakeFonts(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"Kristi.ttf": goregular.TTF, "NanumPen.ttf": gobold.TTF, "Breip.ttf": goregular.TTF,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunWritesEvalFolders writes fonts-clean, nondigits and numbers from fake
// fonts and checks what `digitnet eval --data` needs: the class-folder layout
// that dataset.LoadFolder reads, with every test picture loadable.
func TestRunWritesEvalFolders(t *testing.T) {
	out := filepath.Join(t.TempDir(), "heldout")
	fonts := fakeFonts(t)
	var log bytes.Buffer
	err := run([]string{"-out", out, "-fonts", fonts, "-sets", "fonts-clean,usps,numbers", "-numbers", "20", "-seed", "3"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "usps") || !strings.Contains(log.String(), "skipped") {
		t.Errorf("log does not say usps was skipped without -data:\n%s", log.String())
	}
	set := filepath.Join(out, "fonts-clean")
	if !dataset.IsFolder(set) {
		t.Fatalf("%s is not a class folder set for dataset.IsFolder", set)
	}
	_, test, skipped, err := dataset.LoadFolder(context.Background(), set, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 2 faces × 10 digits × 3 sizes.
	if test.N != 60 || len(skipped) != 0 || len(test.Classes) != 10 || test.Classes[3] != "3" {
		t.Errorf("fonts-clean: %d test pictures, %d skipped, classes %v; want 60, 0, 0-9", test.N, len(skipped), test.Classes)
	}
	for _, f := range []string{"labels.csv", "README.md", marker, "train/7/placeholder.png"} {
		if _, err := os.Stat(filepath.Join(set, f)); err != nil {
			t.Errorf("fonts-clean: %v", err)
		}
	}
	var manifest []numberEntry
	b, err := os.ReadFile(filepath.Join(out, "numbers", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 20 {
		t.Errorf("numbers: %d entries without -data, want the 20 from fonts", len(manifest))
	}
	for _, e := range manifest[:20] {
		if len(e.Boxes) != len(e.Text) || len(e.Text) < 2 || len(e.Text) > 12 {
			t.Errorf("%s: text %q with %d boxes, want 2-12 digits, a box each", e.File, e.Text, len(e.Boxes))
		}
	}
	var ix index
	if b, err := os.ReadFile(filepath.Join(out, "index.json")); err != nil || json.Unmarshal(b, &ix) != nil || ix.Sets["fonts-clean"].Pictures != 60 {
		t.Errorf("index.json: %v, fonts-clean entry %+v", err, ix.Sets["fonts-clean"])
	}
}

// TestRunDeterministic: the same seed writes the same bytes, with one worker or
// two; rerunning replaces the set.
func TestRunDeterministic(t *testing.T) {
	fonts := fakeFonts(t)
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	args := []string{"-fonts", fonts, "-sets", "fonts-styled", "-per", "2", "-seed", "5"}
	if err := run(append([]string{"-out", a, "-j", "1"}, args...), new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if err := run(append([]string{"-out", b, "-j", "2"}, args...), new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if err := run(append([]string{"-out", b, "-j", "2"}, args...), new(bytes.Buffer)); err != nil {
		t.Fatalf("rerun over its own output: %v", err)
	}
	fa, fb := treeFiles(t, filepath.Join(a, "fonts-styled")), treeFiles(t, filepath.Join(b, "fonts-styled"))
	if len(fa) != 2*10*2+10+3 { // pictures, placeholders, labels.csv, README.md, marker
		t.Errorf("fonts-styled: %d files, want %d", len(fa), 2*10*2+10+3)
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between -j 1 and -j 2", name)
		}
	}
	c := filepath.Join(tmp, "c")
	if err := run(append([]string{"-out", c}, append(args[:len(args)-1], "6")...), new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	fc := treeFiles(t, filepath.Join(c, "fonts-styled"))
	if bytes.Equal(fa["test/4/fonts-styled-00008.png"], fc["test/4/fonts-styled-00008.png"]) {
		t.Error("seeds 5 and 6 wrote the same picture")
	}
}

func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestTrainFontsAreSeparate(t *testing.T) {
	fonts := fakeFonts(t)
	dir := filepath.Join(t.TempDir(), "train-fonts")
	if err := run([]string{"-train-fonts", dir, "-fonts", fonts, "-train-per", "3"}, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	train, test, _, err := dataset.LoadFolder(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Only Breip.ttf is a training face here: Kristi and NanumPen are held out.
	if train.N != 30 || test.N != 10 {
		t.Errorf("train-fonts: %d train and %d test pictures, want 30 and 10 (one training face)", train.N, test.N)
	}
	b, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Kristi") || strings.Contains(string(b), "NanumPen") {
		t.Error("train-fonts used a held-out face")
	}
}
