package dataset

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/idx"
)

// writeIDX writes a tiny data set into dir under prefix: train and test images of
// rows×cols pixels of type typ (values from pixel), labels 0..classes-1 in turn.
func writeIDX(t *testing.T, dir, prefix string, n, rows, cols, classes int, typ idx.DataType, pixel func(i int) float64, gz bool) {
	t.Helper()
	for _, split := range []string{"train", "t10k"} {
		img := &idx.Array{Type: typ, Dims: []int{n, rows, cols}}
		for i := range n * rows * cols {
			v := pixel(i)
			switch typ {
			case idx.Uint8:
				img.Data = append(img.Data, uint8(v))
			case idx.Float32:
				img.Data = binary.BigEndian.AppendUint32(img.Data, math.Float32bits(float32(v)))
			case idx.Float64:
				img.Data = binary.BigEndian.AppendUint64(img.Data, math.Float64bits(v))
			}
		}
		lab := &idx.Array{Type: idx.Uint8, Dims: []int{n}}
		for i := range n {
			lab.Data = append(lab.Data, uint8(i%classes))
		}
		ext := ""
		if gz {
			ext = ".gz"
		}
		if err := idx.WriteFile(filepath.Join(dir, prefix+split+"-images-idx3-ubyte"+ext), img, gz); err != nil {
			t.Fatal(err)
		}
		if err := idx.WriteFile(filepath.Join(dir, prefix+split+"-labels-idx1-ubyte"+ext), lab, gz); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenUserData(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "mydigits-", 30, 20, 20, 5, idx.Uint8, func(i int) float64 { return float64(i % 256) }, true)
	found, err := FindFiles(dir)
	if err != nil || len(found) != 1 || found[0].Prefix != "mydigits-" {
		t.Fatalf("FindFiles = %+v, %v; want the one prefix mydigits-", found, err)
	}
	for _, prefix := range []string{"", "mydigits", "mydigits-"} {
		f, err := Select(found, dir, prefix)
		if err != nil {
			t.Fatalf("Select(%q): %v", prefix, err)
		}
		tr, te, rep, err := Open(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Name != "mydigits" || tr.N != 30 || te.N != 30 || tr.Rows != 20 || tr.Cols != 20 || len(tr.Classes) != 5 || len(rep.Files) != 4 {
			t.Errorf("Open: %s %d/%d %d×%d %v classes, %d files", tr.Name, tr.N, te.N, tr.Rows, tr.Cols, tr.Classes, len(rep.Files))
		}
		if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "a data set of its own") {
			t.Errorf("notes %q, want one saying it is a data set of its own", rep.Notes)
		}
	}
	if _, err := Select(found, dir, "emnist"); err == nil || !strings.Contains(err.Error(), `"mydigits-"`) {
		t.Errorf("Select of a missing prefix: %v, want the prefixes there named", err)
	}
	if _, err := Select(nil, dir, ""); err == nil || !strings.Contains(err.Error(), "holds no IDX data set") {
		t.Errorf("Select in an empty directory: %v", err)
	}
}

// TestOpenFloatImages: float images are mapped to bytes from their range; NaN and
// infinite pixels are listed, not passed on.
func TestOpenFloatImages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pixel    func(i int) float64
		wantMax  uint8
		wantNote string
	}{
		{"unit", func(i int) float64 { return float64(i%11) / 10 }, 255, ""},
		{"bytes", func(i int) float64 { return float64(i % 200) }, 199, ""},
		{"other range", func(i int) float64 { return float64(i%5) - 2 }, 255, "mapped to 0..255"},
		{"nan", func(i int) float64 {
			if i == 3*64+7 {
				return math.NaN()
			}
			return float64(i%11) / 10
		}, 255, "NaN or infinite pixels (the first is image 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeIDX(t, dir, "", 10, 8, 8, 2, idx.Float32, tc.pixel, false)
			found, _ := FindFiles(dir)
			tr, _, rep, err := Open(context.Background(), found[0])
			if err != nil {
				t.Fatal(err)
			}
			hi := uint8(0)
			for _, v := range tr.Images {
				hi = max(hi, v)
			}
			if hi != tc.wantMax {
				t.Errorf("largest byte %d, want %d", hi, tc.wantMax)
			}
			got := strings.Join(rep.Notes, "; ")
			if tc.wantNote != "" && !strings.Contains(got, tc.wantNote) {
				t.Errorf("notes %q, want %q", got, tc.wantNote)
			}
			if tc.name == "nan" && (len(tr.NonFinite) != 1 || tr.NonFinite[0] != 3) {
				t.Errorf("NonFinite = %v, want [3]", tr.NonFinite)
			}
		})
	}
}

// TestOpenRecognisesMNIST: MNIST's own files, under any name, are reported as MNIST; a
// relabelled copy is used as it is, with a note naming the file that differs; a label
// file shorter than its images is an error that says so.
func TestOpenRecognisesMNIST(t *testing.T) {
	info, err := Stat(Options{Dataset: "mnist"})
	if err != nil || info.Dir == "" {
		t.Skip("MNIST is not in the cache (scripts/test fetches it)")
	}
	dir := t.TempDir()
	for _, f := range info.Files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Name, "train-labels") {
			b[100]++ // one label changed
		}
		if err := os.WriteFile(filepath.Join(dir, "copy-"+filepath.Base(f.Path)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found, _ := FindFiles(dir)
	tr, _, rep, err := Open(context.Background(), found[0])
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != "copy" || !strings.Contains(strings.Join(rep.Notes, ";"), "copy-train-labels-idx1-ubyte differ from mnist's") {
		t.Errorf("a relabelled MNIST: %s, notes %q", tr.Name, rep.Notes)
	}
	// The labels cut short.
	lab := filepath.Join(dir, "copy-train-labels-idx1-ubyte")
	a, _ := idx.ReadFile(lab, idx.Limits{})
	a.Dims[0], a.Data = 32000, a.Data[:32000]
	if err := idx.WriteFile(lab, a, false); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Open(context.Background(), found[0]); err == nil || !strings.Contains(err.Error(), "has 60000 images but") || !strings.Contains(err.Error(), "has 32000 labels") {
		t.Errorf("labels cut short: %v", err)
	}
}
