package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/synth"
)

// writeFakeUNIPEN writes, under root/unipen, one data file of category for
// contributor, with one segment of one stroke (a tent, about 100 units tall) per
// label, labels escaped as UNIPEN escapes them.
func writeFakeUNIPEN(t *testing.T, root, contributor, category string, labels []string) {
	t.Helper()
	write := func(rel, s string) { writeTestFile(t, filepath.Join(root, "unipen", rel), s) }
	var strokes, segs strings.Builder
	strokes.WriteString(".WRITER_ID\t" + contributor + "1\n")
	for i, l := range labels {
		fmt.Fprintf(&strokes, ".PEN_DOWN\n%d 0\n%d 100\n%d 10\n.PEN_UP\n", 10+i, 40+i, 70+i)
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l)
		fmt.Fprintf(&segs, ".SEGMENT CHARACTER %d ? \"%s\"\n", i, esc)
	}
	inc := contributor + "/data/" + category + ".dat"
	write("include/"+contributor+"/"+contributor+".doc", ".VERSION 1.0\n.COORD X Y\n")
	write("include/"+inc, strokes.String())
	write("data/"+category+"/"+contributor+"/a.dat", ".VERSION 1.0\n.INCLUDE "+contributor+"/"+contributor+".doc\n.INCLUDE "+inc+"\n"+segs.String())
}

// fakeOutlierData writes UNIPEN 1a-1d for a training contributor xyz, and for ced
// (held out), tos and pri (misnumbered), which -train-outliers must not read. The
// letters and symbols include every skipped one and a digit each.
func fakeOutlierData(t *testing.T) string {
	root := t.TempDir()
	var digits, letters, symbols []string
	for i := range 20 {
		digits = append(digits, digitLabel(i%10))
	}
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz7" {
		letters = append(letters, string(r), string(r)) // each twice
	}
	for _, r := range symbolSkip + "#$%&*+<=?@3x" {
		symbols = append(symbols, string(r))
	}
	for _, c := range []string{"xyz", "ced", "tos", "pri"} {
		writeFakeUNIPEN(t, root, c, "1a", digits)
		writeFakeUNIPEN(t, root, c, "1b", letters[:52])
		writeFakeUNIPEN(t, root, c, "1c", letters[52:])
		writeFakeUNIPEN(t, root, c, "1d", symbols)
	}
	return root
}

// smallOutlierCounts makes -train-outliers write a few of each kind for the test.
func smallOutlierCounts(t *testing.T) {
	saved := outlierCounts
	outlierCounts = map[string]int{"letter": 12, "pair": 10, "tangle": 10}
	t.Cleanup(func() { outlierCounts = saved })
}

// outlierRow is one row of an outlier set's labels.csv.
type outlierRow struct{ file, kind, source string }

func readOutlierLabels(t *testing.T, dir string) []outlierRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []outlierRow
	for _, r := range recs[1:] {
		rows = append(rows, outlierRow{r[0], r[1], r[2]})
	}
	return rows
}

// TestTrainOutliersIsSeparate: -train-outliers reads only the training
// contributors (never a held-out one, tos, or a misnumbered one), writes the four
// kinds as class folders that dataset.LoadFolder reads, every tenth item of a kind
// in test/, each item -outliers-per times.
func TestTrainOutliersIsSeparate(t *testing.T) {
	smallOutlierCounts(t)
	root := fakeOutlierData(t)
	dir := filepath.Join(t.TempDir(), "train-outliers")
	var log bytes.Buffer
	if err := run([]string{"-train-outliers", dir, "-data", root, "-outliers-per", "2"}, &log); err != nil {
		t.Fatal(err)
	}
	rows := readOutlierLabels(t, dir)
	perKind := map[string]int{}
	for _, r := range rows {
		perKind[r.kind]++
		for _, c := range []string{"ced", "tos", "pri"} {
			if strings.Contains(r.source, c+"/") {
				t.Errorf("%s: source %q is contributor %s's, which -train-outliers must not read", r.file, r.source, c)
			}
		}
	}
	// 10 kept symbols (# $ % & * + < = ? @), each twice.
	want := map[string]int{"letter": 24, "symbol": 20, "pair": 20, "tangle": 20}
	for kind, n := range want {
		if perKind[kind] != n {
			t.Errorf("%s: %d pictures, want %d", kind, perKind[kind], n)
		}
	}
	for _, c := range []string{"ced", "tos", "pri"} {
		if strings.Contains(log.String(), c) {
			t.Errorf("the log names %s, which -train-outliers must not read:\n%s", c, log.String())
		}
	}
	train, test, skipped, err := dataset.LoadFolder(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train.Classes, []string{"letter", "pair", "symbol", "tangle"}) {
		t.Errorf("classes %v, want letter pair symbol tangle", train.Classes)
	}
	// Item 9 of each kind: of the 12 letters, 10 symbols, 10 pairs and 10 tangles.
	if n := test.N + countSkipped(skipped, "/test/"); n != 4*2 {
		t.Errorf("test/: %d pictures, want 8 (the tenth item of each kind, twice)", n)
	}
	if train.N+test.N+len(skipped) != len(rows) {
		t.Errorf("LoadFolder: %d + %d + %d skipped, want %d pictures", train.N, test.N, len(skipped), len(rows))
	}
	if err := run([]string{"-train-outliers", filepath.Join(t.TempDir(), "x")}, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "-data") {
		t.Errorf("without -data: %v, want an error naming -data", err)
	}
	if err := run([]string{"-train-outliers", filepath.Join(t.TempDir(), "x"), "-data", root, "-outliers-per", "0"}, new(bytes.Buffer)); err == nil {
		t.Error("-outliers-per 0: no error")
	}
}

func countSkipped(s []dataset.Skipped, part string) int {
	n := 0
	for _, x := range s {
		if strings.Contains(filepath.ToSlash(x.File), part) {
			n++
		}
	}
	return n
}

// TestTrainOutliersNoDigits fails if a digit, or a letter or symbol that reads as
// one, is drawn as a letter or a symbol: the fake data plants a digit label in
// 1b, 1c and 1d and every skipped letter and symbol.
func TestTrainOutliersNoDigits(t *testing.T) {
	smallOutlierCounts(t)
	outlierCounts["letter"] = 1000 // all of them
	root := fakeOutlierData(t)
	dir := filepath.Join(t.TempDir(), "train-outliers")
	if err := run([]string{"-train-outliers", dir, "-data", root, "-outliers-per", "1"}, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range readOutlierLabels(t, dir) {
		if r.kind != "letter" && r.kind != "symbol" {
			continue
		}
		label, _, _ := strings.Cut(r.source, " ")
		c, n := utf8.DecodeRuneInString(label)
		seen[label] = true
		switch {
		case n != len(label) || n == 0:
			t.Errorf("%s: label %q is not one character", r.file, label)
		case unicode.IsDigit(c):
			t.Errorf("%s: a digit, %q, drawn as a %s", r.file, label, r.kind)
		case r.kind == "letter" && (!unicode.IsLetter(c) || strings.ContainsRune(outlierLetterSkip, c)):
			t.Errorf("%s: %q drawn as a letter; skipped are %s", r.file, label, outlierLetterSkip)
		case r.kind == "symbol" && (unicode.IsLetter(c) || strings.ContainsRune(symbolSkip, c)):
			t.Errorf("%s: %q drawn as a symbol; skipped are %s", r.file, label, symbolSkip)
		}
	}
	// Not vacuous: the letters and symbols kept are all there.
	for _, l := range []string{"A", "E", "a", "e", "y", "#", "+", "?", "@"} {
		if !seen[l] {
			t.Errorf("no %q drawn", l)
		}
	}
	if len(seen) != 26+26-len(outlierLetterSkip)+10 {
		t.Errorf("%d different letters and symbols drawn, want %d", len(seen), 26+26-len(outlierLetterSkip)+10)
	}
}

func TestOutlierLabels(t *testing.T) {
	for _, tc := range []struct {
		label          string
		letter, symbol bool
	}{
		{"a", true, false}, {"K", true, false}, {"#", false, true}, {"+", false, true}, {"?", false, true},
		{"", false, false}, {"ab", false, false}, {"a ", false, false}, {" ", false, false}, {"7a", false, false},
	} {
		if got := isOutlierLetter(tc.label); got != tc.letter {
			t.Errorf("isOutlierLetter(%q) = %v, want %v", tc.label, got, tc.letter)
		}
		if got := isOutlierSymbol(tc.label); got != tc.symbol {
			t.Errorf("isOutlierSymbol(%q) = %v, want %v", tc.label, got, tc.symbol)
		}
	}
	// What must be skipped, written out here so that a shortened skip list fails:
	// letters and symbols that read as digits or as nothing.
	for _, r := range "OoIilSsZzBbgqGD" + `|/\!()[]{}.,'` + "`" + `":;-_~^>` {
		if isOutlierLetter(string(r)) || isOutlierSymbol(string(r)) {
			t.Errorf("%q is kept; it reads as a digit or as nothing", r)
		}
	}
	for _, r := range "0123456789" + outlierLetterSkip + symbolSkip {
		if isOutlierLetter(string(r)) || isOutlierSymbol(string(r)) {
			t.Errorf("%q is kept as a letter or a symbol; digits and skipped ones must not be", r)
		}
	}
	for _, tc := range [][2]string{{`a`, "a"}, {`\"`, `"`}, {`\\`, `\`}, {`\`, `\`}} {
		if got := unescapeLabel(tc[0]); got != tc[1] {
			t.Errorf("unescapeLabel(%q) = %q, want %q", tc[0], got, tc[1])
		}
	}
}

// TestTrainOutliersDeterministic: the same seed writes the same bytes, with one
// worker or two; another seed writes other pictures.
func TestTrainOutliersDeterministic(t *testing.T) {
	smallOutlierCounts(t)
	root := fakeOutlierData(t)
	tmp := t.TempDir()
	write := func(dir, seed, workers string) map[string][]byte {
		args := []string{"-train-outliers", filepath.Join(tmp, dir), "-data", root, "-seed", seed, "-j", workers, "-outliers-per", "1"}
		if err := run(args, new(bytes.Buffer)); err != nil {
			t.Fatal(err)
		}
		return treeFiles(t, filepath.Join(tmp, dir))
	}
	a, b, c := write("a", "5", "1"), write("b", "5", "2"), write("c", "6", "1")
	if len(a) != len(b) {
		t.Errorf("-j 1 wrote %d files, -j 2 %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between -j 1 and -j 2", name)
		}
	}
	if bytes.Equal(a["labels.csv"], c["labels.csv"]) {
		t.Error("seeds 5 and 6 wrote the same labels.csv (pairs and tangles should differ)")
	}
}

func TestCapEvenly(t *testing.T) {
	var cs []penChar
	for i, l := range strings.Split("aaaaaaaaaabbccccc", "") { // a:10 b:2 c:5
		cs = append(cs, penChar{label: l, ref: fmt.Sprintf("%02d", i)})
	}
	got := capEvenly(cs, 9)
	n := map[string]int{}
	for _, c := range got {
		n[c.label]++
	}
	// b keeps both; c and a share the other 7: 3 and 4.
	if n["a"] != 4 || n["b"] != 2 || n["c"] != 3 {
		t.Errorf("capEvenly(a:10 b:2 c:5, 9) kept %v, want a:4 b:2 c:3", n)
	}
	if !slices.IsSortedFunc(got, func(x, y penChar) int { return strings.Compare(x.ref, y.ref) }) {
		t.Errorf("capEvenly changed the order: %v", got)
	}
	if got := capEvenly(cs, 100); len(got) != len(cs) {
		t.Errorf("capEvenly under the cap kept %d of %d", len(got), len(cs))
	}
}

// TestMakePairs: two different digits, of one writer when the writer wrote more
// than one, side by side left to right.
func TestMakePairs(t *testing.T) {
	one := []synth.Stroke{{{X: 0, Y: 0}, {X: 10, Y: 100}}}
	digits := []penChar{
		{label: "1", strokes: one, writer: "w1", ref: "r0"},
		{label: "2", strokes: one, writer: "w1", ref: "r1"},
		{label: "3", strokes: one, writer: "w1", ref: "r2"},
		{label: "4", strokes: one, writer: "w2", ref: "r3"},
	}
	for _, p := range makePairs(digits, 200, rand.New(rand.NewPCG(1, 2))) {
		if len(p.label) != 2 || p.label[0] == p.label[1] {
			t.Errorf("pair %q (%s): want two different digits", p.label, p.ref)
		}
		if p.writer == "w1" && strings.Contains(p.label, "4") {
			t.Errorf("pair %q (%s): w1 wrote three digits, want both of w1's", p.label, p.ref)
		}
		if len(p.strokes) != 2 || p.strokes[0][0].X >= p.strokes[1][0].X {
			t.Errorf("pair %q: strokes %v, want two, the first left of the second", p.label, p.strokes)
		}
	}
}
