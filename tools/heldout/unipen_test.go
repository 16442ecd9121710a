package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/internal/synth"
)

func TestComponentRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"3", []int{3}, true},
		{"30-32", []int{30, 31, 32}, true},
		{"1,4-5", []int{1, 4, 5}, true},
		{"0:12-0:14", nil, false},
		{"5-3", nil, false},
		{"x", nil, false},
	} {
		got, ok := componentRange(tc.in)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("componentRange(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestReadUNIPEN reads a small tree in UNIPEN's layout: a data file including a
// document and a file of pen components, with a sentinel (0, 0) point, a
// non-digit segment and a segment spanning files.
func TestReadUNIPEN(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) { writeTestFile(t, filepath.Join(root, rel), s) }
	write("include/xyz/xyz.doc", ".VERSION 1.0\n.COORD X Y\n")
	// Components 0..3: a "1" (one stroke), a "7" (two strokes), a dot-only glitch.
	strokes := ".WRITER_ID\tABC123\n.PEN_DOWN\n10 0\n10 100\n.PEN_UP\n" +
		".PEN_DOWN\n0 100\n50 100\n0 0\n.PEN_UP\n.PEN_DOWN\n50 100\n20 0\n.PEN_UP\n" +
		".START_BOX\n.PEN_DOWN\n0 0\n.PEN_UP\n"
	write("include/xyz/data/a.dat", strokes)
	write("data/1a/xyz/a.dat", ".VERSION 1.0\n.INCLUDE xyz/xyz.doc\n.INCLUDE xyz/data/a.dat\n"+
		`.SEGMENT CHARACTER 0 ? "1"`+"\n"+
		`.SEGMENT CHARACTER 1-2 OK "7"`+"\n"+
		`.SEGMENT CHARACTER 3 ? "4"`+"\n"+
		`.SEGMENT CHARACTER 1 ? "a"`+"\n"+
		`.SEGMENT CHARACTER 0:1-0:2 ? "3"`+"\n"+
		`.SEGMENT CHARACTER 9 ? "5"`+"\n")
	ds, st, err := readUNIPEN(root, "1a", []string{"xyz"}, isDigit)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].label != "1" || ds[1].label != "7" {
		t.Fatalf("got %d digits %+v, want a 1 and a 7", len(ds), ds)
	}
	if ds[0].writer != "xyz/ABC123" || ds[0].ref != "data/1a/xyz/a.dat#0" {
		t.Errorf("writer %q ref %q, want xyz/ABC123 and data/1a/xyz/a.dat#0", ds[0].writer, ds[0].ref)
	}
	seven := ds[1].strokes
	if len(seven) != 2 || len(seven[0]) != 2 || seven[0][1] != (synth.Point{X: 50, Y: 100}) {
		t.Errorf("the 7's strokes %v, want two, the first from (0,100) to (50,100) without the (0,0) glitch", seven)
	}
	want := unipenStats{segments: 6, kept: 2, otherLabel: 1, multiFile: 1, badRef: 1, empty: 1}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// TestTrainUNIPENIsSeparate: -train-unipen draws the contributors that are not held out,
// each digit -unipen-per times, every tenth in test/, and never a held-out contributor
// or tos.
func TestTrainUNIPENIsSeparate(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) { writeTestFile(t, filepath.Join(root, "unipen", rel), s) }
	for _, c := range []string{"xyz", "ced", "tos"} {
		var strokes, segs strings.Builder
		strokes.WriteString(".WRITER_ID\t" + c + "1\n")
		for i := range 20 { // twenty "1"s, each one stroke
			fmt.Fprintf(&strokes, ".PEN_DOWN\n%d 0\n%d 100\n.PEN_UP\n", 10+i, 12+i)
			fmt.Fprintf(&segs, ".SEGMENT CHARACTER %d ? \"1\"\n", i)
		}
		write("include/"+c+"/"+c+".doc", ".VERSION 1.0\n.COORD X Y\n")
		write("include/"+c+"/data/a.dat", strokes.String())
		write("data/1a/"+c+"/a.dat", ".VERSION 1.0\n.INCLUDE "+c+"/"+c+".doc\n.INCLUDE "+c+"/data/a.dat\n"+segs.String())
	}
	dir := filepath.Join(t.TempDir(), "train-unipen")
	if err := run([]string{"-train-unipen", dir, "-data", root, "-unipen-per", "2"}, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	for split, want := range map[string]int{"train": 36, "test": 4} {
		files, _ := filepath.Glob(filepath.Join(dir, split, "1", "*.png"))
		if len(files) != want {
			t.Errorf("%s/1: %d pictures, want %d (18 and 2 digits, twice each)", split, len(files), want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "xyz/xyz1") || strings.Contains(string(b), "ced") || strings.Contains(string(b), "tos") {
		t.Errorf("labels.csv should name only writer xyz/xyz1:\n%s", b)
	}
	if err := run([]string{"-train-unipen", filepath.Join(t.TempDir(), "x")}, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "-data") {
		t.Errorf("without -data: %v, want an error naming -data", err)
	}
}

// writeTestFile writes s to p, making its directories.
func writeTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
