package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func uspsLine(label string, ink int) string {
	v := make([]string, 257)
	v[0] = label
	for i := 1; i < 257; i++ {
		v[i] = "-1"
	}
	v[1+ink] = "1"
	v[2+ink] = "0"
	return strings.Join(v, " ")
}

func TestParseUSPS(t *testing.T) {
	in := uspsLine("6.0000", 17) + "\n\n" + uspsLine("0", 0) + "\n"
	got, err := parseUSPS(strings.NewReader(in), "zip.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].label != 6 || got[1].label != 0 {
		t.Fatalf("got %d digits with labels %v, want 2: 6 and 0", len(got), labelsOf(got))
	}
	m := got[0].mask
	if m.W != 16 || m.H != 16 || m.At(1, 1) != 1 || m.At(2, 1) != 0.5 || m.At(0, 0) != 0 {
		t.Errorf("USPS -1/0/1 → coverage: got %g %g %g at (1,1) (2,1) (0,0), want 1 0.5 0", m.At(1, 1), m.At(2, 1), m.At(0, 0))
	}
	if got[1].ref != "zip.test:3" {
		t.Errorf("second digit's ref %q, want zip.test:3 (its line)", got[1].ref)
	}
	for _, bad := range []string{uspsLine("10", 0), uspsLine("2.5", 0), "3 -1 -1", uspsLine("x", 0)} {
		if _, err := parseUSPS(strings.NewReader(bad), "zip.bad"); err == nil || !strings.Contains(err.Error(), "zip.bad:1") {
			t.Errorf("bad line %.20q…: error %v, want one naming zip.bad:1", bad, err)
		}
	}
}

func semeionLine(label int) string {
	v := make([]string, 266)
	for i := range v {
		v[i] = "0"
	}
	v[5] = "1.0000"
	v[256+label] = "1"
	return strings.Join(v, " ")
}

func TestParseSemeion(t *testing.T) {
	got, err := parseSemeion(strings.NewReader(semeionLine(7)+"\n"+semeionLine(2)), "semeion.data")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].label != 7 || got[1].label != 2 || got[0].mask.At(5, 0) != 1 {
		t.Fatalf("got labels %v, want [7 2] and ink at (5,0)", labelsOf(got))
	}
	f := strings.Fields(semeionLine(3))
	f[256] = "1" // labels 0 and 3
	two := strings.Join(f, " ")
	for name, bad := range map[string]string{"no label": strings.Repeat("0 ", 266), "two labels": two, "short": "1 0 1"} {
		if _, err := parseSemeion(strings.NewReader(bad), "s"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func optDigit(label string) string {
	row := strings.Repeat("0", 15) + "11" + strings.Repeat("0", 15)
	return strings.Repeat(row+"\n", 32) + label + "\n"
}

func TestParseOptdigits(t *testing.T) {
	in := "BU handwritten digit database\nentwidth = 32\n\n" + optDigit(" 4") + optDigit(" 9") + "EOF"
	got, err := parseOptdigits(strings.NewReader(in), "optdigits-orig.windep")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].label != 4 || got[1].label != 9 {
		t.Fatalf("got labels %v, want [4 9]", labelsOf(got))
	}
	if m := got[0].mask; m.At(15, 31) != 1 || m.At(14, 0) != 0 || m.Ink() != 64 {
		t.Errorf("digit 4: ink %g, want a 2-pixel column of 64", m.Ink())
	}
	if got[1].ref != "optdigits-orig.windep:37" {
		t.Errorf("ref %q, want the first row's line, optdigits-orig.windep:37", got[1].ref)
	}
	rows := strings.SplitAfter(optDigit(" 1"), "\n")
	cut := strings.Join(rows[:16], "") // a digit cut short at the end of the file
	if _, err := parseOptdigits(strings.NewReader(cut), "o"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated file: error %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := parseOptdigits(strings.NewReader(strings.Join(rows[:16], "")+"EOF\n"), "o"); err == nil {
		t.Error("digit cut short by EOF: no error")
	}
	if _, err := parseOptdigits(strings.NewReader(optDigit("x")), "o"); err == nil {
		t.Error("label x: no error")
	}
}

func labelsOf(s []scan) []int {
	var l []int
	for _, x := range s {
		l = append(l, x.label)
	}
	return l
}
