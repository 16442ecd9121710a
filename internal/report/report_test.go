package report

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"flag"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/train"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata")
	out    = flag.String("out", "", "also write the synthetic report into this directory, to look at")
)

// synthetic is a full report with plausible made-up numbers.
func synthetic() Report {
	rng := rand.New(rand.NewPCG(1, 2))
	r := Report{
		Title: "digitnet train — 784-300-10 ReLU, Adam",
		Summary: [][2]string{
			{"test accuracy", "98.12%"},
			{"epochs", "10"},
			{"seed", "1"},
			{"command", "digitnet train --epochs 10 --report out"},
		},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Findings: []Finding{
			{ID: "sigmoid-saturation", Severity: "error", Message: "layer 1: 31% of pre-activations have |z| > 5", Fix: "--init glorot-uniform"},
			{ID: "lr-high", Severity: "warning", Message: "loss rose in 2 of 10 epochs", Fix: "--lr 0.001"},
			{ID: "dead-relu", Severity: "info", Message: "layer 2: 4% of units never fire"},
		},
	}
	for e := 1; e <= 10; e++ {
		x := float64(e)
		r.History = append(r.History, Epoch{
			Epoch:         e,
			Loss:          0.32*math.Exp(-x/2.5) + 0.04 + 0.005*rng.Float64(),
			TrainAccuracy: 0.995 - 0.09*math.Exp(-x/2.2),
			TestAccuracy:  0.981 - 0.07*math.Exp(-x/2.0) - 0.002*rng.Float64(),
		})
	}
	support := []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	r.Confusion = make([][]int, 10)
	for t := range r.Confusion {
		r.Confusion[t] = make([]int, 10)
		left := support[t]
		for p := range 10 {
			if p != t && rng.IntN(3) == 0 {
				c := rng.IntN(12)
				r.Confusion[t][p] = c
				left -= c
			}
		}
		r.Confusion[t][t] = left
	}
	r.Confusion[4][9], r.Confusion[4][4] = 31, r.Confusion[4][4]-31 // the classic
	var err error
	if r.PerClass, err = train.PerClass(r.Confusion, r.Classes); err != nil {
		panic(err)
	}
	for i := range 16 {
		t := rng.IntN(10)
		p := (t + 1 + rng.IntN(9)) % 10
		r.Worst = append(r.Worst, Digit{Pixels: sevenSegment(t, rng), True: t, Predicted: p, Probability: 0.99 - 0.02*float64(i)})
	}
	sample := func(n int, f func() float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(f())
		}
		return s
	}
	r.Layers = []Layer{
		{Name: "layer 1: Sigmoid (300 units)", Kind: "Sigmoid", PreActivations: sample(3000, func() float64 { return 3.5 * rng.NormFloat64() })},
		{Name: "layer 2: ReLU (100 units)", Kind: "ReLU", PreActivations: sample(1000, func() float64 { return 0.4 + 1.2*rng.NormFloat64() })},
	}
	return r
}

// sevenSegment draws digit d as a slanted, soft-edged seven-segment figure.
func sevenSegment(d int, rng *rand.Rand) []uint8 {
	// Segments a..g as line ends in a 0..1 box: top, top right, bottom right, bottom,
	// bottom left, top left, middle.
	seg := [7][4]float64{{0, 0, 1, 0}, {1, 0, 1, .5}, {1, .5, 1, 1}, {0, 1, 1, 1}, {0, .5, 0, 1}, {0, 0, 0, .5}, {0, .5, 1, .5}}
	on := []string{"abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"}[d]
	slant := 0.15 + 0.1*rng.Float64()
	px := make([]uint8, DigitSide*DigitSide)
	for y := range DigitSide {
		for x := range DigitSide {
			best := math.Inf(1)
			for _, s := range on {
				g := seg[s-'a']
				// Box 10×18 pixels at (9,5), slanted.
				x0, y0 := 9+10*g[0]+slant*(18-18*g[1]), 5+18*g[1]
				x1, y1 := 9+10*g[2]+slant*(18-18*g[3]), 5+18*g[3]
				best = math.Min(best, segDist(float64(x), float64(y), x0, y0, x1, y1))
			}
			v := 255 * math.Min(1, math.Max(0, 2.6-best))
			px[y*DigitSide+x] = uint8(v)
		}
	}
	return px
}

func segDist(px, py, x0, y0, x1, y1 float64) float64 {
	dx, dy := x1-x0, y1-y0
	t := ((px-x0)*dx + (py-y0)*dy) / (dx*dx + dy*dy)
	t = math.Min(1, math.Max(0, t))
	return math.Hypot(px-(x0+t*dx), py-(y0+t*dy))
}

var externalURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|(src|href)\s*=\s*"(https?:|//)`)

// checkHTML checks that page is a self-contained report page.
func checkHTML(t *testing.T, page string) {
	t.Helper()
	if m := externalURL.FindString(page); m != "" {
		t.Errorf("index.html refers to something external: %q", m)
	}
	for _, want := range []string{"<!DOCTYPE html>", "<style>", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(page, "<link") || strings.Contains(page, "<script") || strings.Contains(page, "@import") {
		t.Error("index.html loads a stylesheet or script")
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("index.html has a value html/template refused (ZgotmplZ)")
	}
	// Every image is embedded.
	for _, m := range regexp.MustCompile(`<img [^>]*src="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "data:image/png;base64,") {
			t.Errorf("image source %.40q is not embedded", m[1])
		}
	}
}

func TestWriteFull(t *testing.T) {
	dir := t.TempDir()
	r := synthetic()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	if *out != "" {
		if err := Write(*out, r); err != nil {
			t.Fatal(err)
		}
	}

	pngs := []struct {
		name       string
		minW, minH int
		maxW, maxH int
	}{
		{CurvesPNG, 1000, 900, 2000, 2000},
		{ConfusionPNG, 1000, 1000, 2000, 2000},
		{MisclassifiedPNG, 1000, 250, 2400, 800},
		{ActivationsPNG, 1000, 900, 2000, 2000},
	}
	for _, tc := range pngs {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("decode %s: %v", tc.name, err)
			}
			b := img.Bounds()
			if b.Dx() < tc.minW || b.Dx() > tc.maxW || b.Dy() < tc.minH || b.Dy() > tc.maxH {
				t.Errorf("%s is %d×%d, want %d..%d × %d..%d", tc.name, b.Dx(), b.Dy(), tc.minW, tc.maxW, tc.minH, tc.maxH)
			}
		})
	}

	for _, name := range []string{CurvesSVG, ConfusionSVG, ActivationsSVG} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			checkSVG(t, name, data)
		})
	}

	t.Run(MetricsCSV, func(t *testing.T) {
		rows := readCSV(t, filepath.Join(dir, MetricsCSV))
		if got, want := len(rows), 1+len(r.Classes); got != want {
			t.Fatalf("metrics.csv has %d rows, want %d (header + one per class)", got, want)
		}
		if got, want := strings.Join(rows[0], ","), "class,name,precision,recall,f1,support"; got != want {
			t.Errorf("metrics.csv header %q, want %q", got, want)
		}
	})

	t.Run(IndexHTML, func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, IndexHTML))
		if err != nil {
			t.Fatal(err)
		}
		page := string(data)
		checkHTML(t, page)
		for _, want := range []string{
			"<title>digitnet train — 784-300-10 ReLU, Adam</title>",
			`<table class="summary">`, "98.12%",
			`<table class="findings">`, `<tr class="error">`, `<tr class="warning">`, `<tr class="info">`, "sigmoid-saturation", "--init glorot-uniform",
			`<table class="per-class">`, `href="metrics.csv"`,
			`href="curves.png"`, `href="curves.svg"`,
			`href="confusion.png"`, `href="confusion.svg"`,
			`href="misclassified.png"`,
			`href="activations.png"`, `href="activations.svg"`,
			`id="curves"`, `id="confusion"`, `id="misclassified"`, `id="activations"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("index.html lacks %q", want)
			}
		}
		if got, want := strings.Count(page, "<img "), 4; got != want {
			t.Errorf("index.html has %d images, want %d", got, want)
		}
		if got, want := strings.Count(page, `<tr><td class="num">`)+strings.Count(page, `<tr class="weakest"><td class="num">`), len(r.Classes); got != want {
			t.Errorf("per-class table has %d class rows, want %d", got, want)
		}
	})

	// No temporary files are left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{ActivationsPNG, ActivationsSVG, ConfusionPNG, ConfusionSVG, CurvesPNG, CurvesSVG, IndexHTML, MetricsCSV, MisclassifiedPNG}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("dir holds %v, want %v", names, want)
	}
}

func checkSVG(t *testing.T, name string, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s does not parse as XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s root element <%s>, want <svg>", name, root)
	}
	if !bytes.Contains(data, []byte("<text")) {
		t.Errorf("%s has no text", name)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestWritePartial(t *testing.T) {
	full := synthetic()
	eval := full
	eval.Title = "digitnet eval — model.dnm"
	eval.History, eval.Layers, eval.Findings = nil, nil, nil
	diagnose := Report{Title: "digitnet diagnose", Layers: full.Layers, Findings: full.Findings}
	diverged := Report{History: []Epoch{{Epoch: 1, Loss: 2.1, TrainAccuracy: .5, TestAccuracy: .5}, {Epoch: 2, Loss: math.NaN(), TrainAccuracy: math.NaN(), TestAccuracy: .1}, {Epoch: 3, Loss: math.Inf(1), TrainAccuracy: .1, TestAccuracy: .1}}}
	fashion := eval
	fashion.Title = "digitnet eval — Fashion-MNIST"
	fashion.Classes = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	fashion.PerClass, _ = train.PerClass(fashion.Confusion, fashion.Classes)
	single := Report{History: []Epoch{{Epoch: 1, Loss: 0.3, TrainAccuracy: 0.9, TestAccuracy: 0.91}}, Confusion: [][]int{{5}}}

	tests := []struct {
		name   string
		r      Report
		want   []string // files
		in     []string // in index.html
		absent []string // not in index.html
	}{
		{
			name:   "eval",
			r:      eval,
			want:   []string{ConfusionPNG, ConfusionSVG, IndexHTML, MetricsCSV, MisclassifiedPNG},
			in:     []string{"digitnet eval — model.dnm", `href="confusion.png"`, `href="misclassified.png"`, `<table class="per-class">`},
			absent: []string{"curves.", "activations.", `<table class="findings">`},
		},
		{
			name:   "diagnose",
			r:      diagnose,
			want:   []string{ActivationsPNG, ActivationsSVG, IndexHTML},
			in:     []string{`href="activations.svg"`, `<table class="findings">`},
			absent: []string{"curves.", "confusion.", "misclassified.", "metrics.csv", `<table class="summary">`},
		},
		{
			name: "fashion",
			r:    fashion,
			want: []string{ConfusionPNG, ConfusionSVG, IndexHTML, MetricsCSV, MisclassifiedPNG},
			in:   []string{"Ankle boot", `href="misclassified.png"`},
		},
		{
			name: "diverged",
			r:    diverged,
			want: []string{CurvesPNG, CurvesSVG, IndexHTML},
			in:   []string{"<title>digitnet report</title>", `href="curves.png"`},
		},
		{
			name: "single epoch and class",
			r:    single,
			want: []string{ConfusionPNG, ConfusionSVG, CurvesPNG, CurvesSVG, IndexHTML, MetricsCSV}, // per-class metrics derived from the confusion matrix,
		},
		{
			name: "empty confusion",
			r:    Report{Confusion: [][]int{}, Classes: []string{}},
			want: []string{IndexHTML},
		},
		{
			name:   "empty",
			r:      Report{},
			want:   []string{IndexHTML},
			in:     []string{"<title>digitnet report</title>", "no data"},
			absent: []string{"<img", "<table"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new", "report") // Write makes it
			if *out != "" {
				dir = filepath.Join(*out, strings.ReplaceAll(tc.name, " ", "-"))
				os.RemoveAll(dir)
			}
			if err := Write(dir, tc.r); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Write wrote %v, want %v", names, tc.want)
			}
			data, err := os.ReadFile(filepath.Join(dir, IndexHTML))
			if err != nil {
				t.Fatal(err)
			}
			page := string(data)
			checkHTML(t, page)
			for _, s := range tc.in {
				if !strings.Contains(page, s) {
					t.Errorf("index.html lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(page, s) {
					t.Errorf("index.html contains %q", s)
				}
			}
			for _, name := range names {
				if strings.HasSuffix(name, ".svg") {
					data, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil {
						t.Fatal(err)
					}
					checkSVG(t, name, data)
				}
			}
		})
	}
}

func TestMetricsCSVGolden(t *testing.T) {
	ms := []ClassMetrics{
		{Class: 0, Name: "T-shirt/top", Precision: 0.8571428571, Recall: 0.9, F1: 0.878048780, Support: 1000},
		{Class: 1, Name: "Trouser", Precision: 1, Recall: 0.97, F1: 0.98477, Support: 1000},
		{Class: 2, Name: `Pull, "over"`, Precision: 0, Recall: 0, F1: 0, Support: 0},
	}
	got, err := metricsCSV(ms)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "metrics.golden.csv")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("metrics.csv:\n%s\nwant (%s):\n%s", got, golden, want)
	}
}

func TestWriteErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := Report{Title: "t"}

	tests := []struct {
		name string
		dir  string
		r    Report
		want string // in the error
	}{
		{"dir is a file", file, good, file},
		{"dir under a file", filepath.Join(file, "sub"), good, filepath.Join(file, "sub")},
		{"empty dir name", "", good, "empty directory"},
		{"ragged confusion", filepath.Join(tmp, "ragged"), Report{Confusion: [][]int{{1, 2}, {3}}}, "row 1 has 1 columns, want 2"},
		{"negative count", filepath.Join(tmp, "negative"), Report{Confusion: [][]int{{1, -2}, {3, 4}}}, "confusion[0][1] = -2"},
		{"class names", filepath.Join(tmp, "names"), Report{Classes: []string{"a", "b", "c"}, Confusion: [][]int{{1, 0}, {0, 1}}}, "3 class names for a 2×2"},
		{"digit size", filepath.Join(tmp, "digit"), Report{Worst: []Digit{{Pixels: make([]uint8, 100)}}}, "worst digit 0 has 100 pixels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(tc.dir, tc.r)
			if err == nil {
				t.Fatalf("Write(%q) succeeded, want an error", tc.dir)
			}
			t.Log(err)
			if msg := err.Error(); !strings.HasPrefix(msg, "report: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("Write(%q) error %q, want it to start with \"report: \" and contain %q", tc.dir, msg, tc.want)
			}
			// A data error leaves nothing behind.
			if tc.dir != "" && tc.dir != file && !strings.HasPrefix(tc.dir, file) {
				if _, err := os.Stat(tc.dir); !os.IsNotExist(err) {
					t.Errorf("Write(%q) failed but created the directory", tc.dir)
				}
			}
		})
	}
}

func TestIntTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		max    int
		want   string
	}{
		{1, 10, 12, "1 2 3 4 5 6 7 8 9 10"},
		{1, 30, 12, "5 10 15 20 25 30"},
		{0.5, 3.5, 12, "1 2 3"},
		{1, 200, 12, "20 40 60 80 100 120 140 160 180 200"},
	}
	for _, tc := range tests {
		var labels []string
		for _, tk := range (intTicks{max: tc.max}).Ticks(tc.lo, tc.hi) {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("intTicks{%d}.Ticks(%v, %v) = %q, want %q", tc.max, tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 0.27, 6, "0.00 0.05 0.10 0.15 0.20 0.25"},
		{93.5, 99.6, 6, "94 96 98"},
		{93.5, 99.6, 7, "94 95 96 97 98 99"},
		{-16.2, 13.1, 8, "-15 -10 -5 0 5 10"},
		{0, 215, 4, "0 100 200"},
		{0, 1, 4, "0.00 0.25 0.50 0.75 1.00"},
		{-3.9, 4.5, 8, "-2 0 2 4"},
		{1, 1, 6, ""},
	}
	for _, tc := range tests {
		var labels []string
		for _, tk := range (niceTicks{n: tc.n}).Ticks(tc.lo, tc.hi) {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("niceTicks{%d}.Ticks(%v, %v) = %q, want %q", tc.n, tc.lo, tc.hi, got, tc.want)
		}
	}
}
