// Package report turns the numbers of a training, evaluation or diagnosis run into
// pictures and one self-contained HTML page.
//
// Write renders every file of a report into memory first and writes them only when all
// of them rendered, each atomically, so a data error leaves the directory untouched and a
// reader never sees half a file. The files, each written only when its data is present:
//
//	curves.png, curves.svg              loss and train/test accuracy per epoch (History)
//	confusion.png, confusion.svg        confusion matrix heat map with counts (Confusion)
//	misclassified.png                   grid of the worst misclassified digits (Worst)
//	activations.png, activations.svg    per-layer pre-activation histograms (Layers)
//	metrics.csv                         per-class precision, recall, F1, support (PerClass)
//	index.html                          everything above on one page (always)
//
// index.html makes no external request: its CSS is inline and its figures are embedded
// as PNG data: URIs, so it renders offline and survives being mailed on its own. It also
// links the figure files by relative name for full-size viewing.
//
// Files of an earlier report in the same directory that this report does not write are
// left alone; index.html never refers to them.
package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/digitnet/digitnet/internal/fsutil"
	"github.com/digitnet/digitnet/train"
)

// Epoch is one point of the learning curves: an epoch's report from training.
type Epoch = train.Epoch

// Digit is a misclassified example.
type Digit struct {
	Pixels      []uint8 // 28×28 row-major, 0 background … 255 ink
	True        int     // true class index
	Predicted   int     // predicted class index
	Probability float64 // probability of the predicted class, in [0,1]
}

// ClassMetrics are the one-vs-rest scores of one class.
type ClassMetrics = train.ClassMetrics

// Layer is a sample of one layer's pre-activations z, for a histogram.
type Layer struct {
	Name           string    // e.g. "layer 1: Sigmoid (300 units)"
	Kind           string    // "Sigmoid", "Tanh", "ReLU"; others get no saturation zone
	PreActivations []float32 // a sample; non-finite values are counted and left out
}

// Finding is one result of a diagnosis.
type Finding struct {
	ID       string
	Severity string // "error", "warning" or "info"; others are shown uncoloured
	Message  string
	Fix      string // a suggested change, e.g. "--init glorot-uniform"; may be empty
}

// Report is everything a report can show. Every field may be empty; Write shows what
// is there.
type Report struct {
	Title     string         // e.g. "digitnet train — 784-300-10 ReLU, Adam"
	Summary   [][2]string    // key/value facts shown at the top
	History   []Epoch        // learning curves; empty for eval
	Classes   []string       // class names, e.g. "0".."9"; if empty, class indices are used
	Confusion [][]int        // [true][predicted] counts; square
	PerClass  []ClassMetrics // derived from Confusion when nil
	Worst     []Digit        // worst misclassified digits, most confident wrong first
	Layers    []Layer        // activation histograms
	Findings  []Finding      // diagnosis findings
}

// DigitSide is the width and height of a Digit in pixels.
const DigitSide = 28

// File names written by Write.
const (
	CurvesPNG        = "curves.png"
	CurvesSVG        = "curves.svg"
	ConfusionPNG     = "confusion.png"
	ConfusionSVG     = "confusion.svg"
	MisclassifiedPNG = "misclassified.png"
	ActivationsPNG   = "activations.png"
	ActivationsSVG   = "activations.svg"
	MetricsCSV       = "metrics.csv"
	IndexHTML        = "index.html"
)

// file is one rendered output.
type file struct {
	name string
	data []byte
}

// Write creates dir if needed and writes the report's files into it (see the package
// documentation for which). Data problems — a ragged or non-square confusion matrix, a
// digit that is not 28×28, class names that do not match the matrix — are returned as
// errors before anything is written.
func Write(dir string, r Report) error {
	if dir == "" {
		return errors.New("report: empty directory name")
	}
	files, err := render(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == dir {
			return fmt.Errorf("report: %w", err) // names dir already
		}
		return fmt.Errorf("report: create %s: %w", dir, err)
	}
	set := make([]fsutil.File, len(files))
	for i, f := range files {
		set[i] = fsutil.File{Name: f.name, Data: f.data}
	}
	// All or nothing: a full disk leaves the previous report whole.
	if err := fsutil.WriteFiles(dir, set, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// render produces every file of r in memory, index.html last.
func render(r Report) ([]file, error) {
	var (
		files []file
		page  = page{Report: r}
	)
	add := func(name string, data []byte) { files = append(files, file{name, data}) }
	if r.PerClass == nil && r.Confusion != nil {
		m, err := train.PerClass(r.Confusion, r.Classes)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		r.PerClass, page.PerClass = m, m
	}

	if len(r.History) > 0 {
		png, svg, err := curves(r.History)
		if err != nil {
			return nil, err
		}
		add(CurvesPNG, png)
		add(CurvesSVG, svg)
		page.Curves = &figure{PNG: png, Name: CurvesPNG, Alt: "learning curves", Links: []string{CurvesPNG, CurvesSVG}}
	}
	if len(r.Confusion) > 0 {
		names, err := classNames(r.Classes, len(r.Confusion))
		if err != nil {
			return nil, err
		}
		png, svg, err := confusion(r.Confusion, names)
		if err != nil {
			return nil, err
		}
		add(ConfusionPNG, png)
		add(ConfusionSVG, svg)
		page.Confusion = &figure{PNG: png, Name: ConfusionPNG, Alt: "confusion matrix", Links: []string{ConfusionPNG, ConfusionSVG}}
	}
	if len(r.PerClass) > 0 {
		csv, err := metricsCSV(r.PerClass)
		if err != nil {
			return nil, err
		}
		add(MetricsCSV, csv)
	}
	if len(r.Worst) > 0 {
		png, err := misclassified(r.Worst, r.Classes)
		if err != nil {
			return nil, err
		}
		add(MisclassifiedPNG, png)
		page.Misclassified = &figure{PNG: png, Name: MisclassifiedPNG, Alt: "worst misclassified digits", Links: []string{MisclassifiedPNG}}
	}
	if len(r.Layers) > 0 {
		png, svg, err := activations(r.Layers)
		if err != nil {
			return nil, err
		}
		add(ActivationsPNG, png)
		add(ActivationsSVG, svg)
		page.Activations = &figure{PNG: png, Name: ActivationsPNG, Alt: "activation histograms", Links: []string{ActivationsPNG, ActivationsSVG}}
	}
	html, err := index(page)
	if err != nil {
		return nil, err
	}
	add(IndexHTML, html)
	return files, nil
}

// classNames returns n class names: names itself if it has n entries, the indices
// "0".."n-1" if it is empty.
func classNames(names []string, n int) ([]string, error) {
	if len(names) == n {
		return names, nil
	}
	if len(names) != 0 {
		return nil, fmt.Errorf("report: %d class names for a %d×%d confusion matrix", len(names), n, n)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out, nil
}

// className returns the name of class i, or its index if names does not cover it.
func className(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprint(i)
}
