package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/digitnet/digitnet/internal/synth"
)

// trainingWriters returns the UNIPEN 1a contributors under root that are neither
// held out nor tos (whose stroke numbering is not understood; see SOURCES.md).
func trainingWriters(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "data", "1a"))
	if err != nil {
		return nil, fmt.Errorf("unipen: %w", err)
	}
	var cs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "tos" && !slices.Contains(heldOutWriters, e.Name()) {
			cs = append(cs, e.Name())
		}
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("unipen: no training contributor in %s", filepath.Join(root, "data", "1a"))
	}
	return cs, nil
}

// writeTrainUNIPEN writes the UNIPEN 1a digits of the contributors that are not held
// out as class folders: each digit o.unipenPer times, the first as on a drawing canvas
// (as the held-out unipen set draws them), the others on paper or photographed in a
// random synth style; every tenth digit goes to test/ instead of train/. Real
// handwriting of about 200 writers, for training; never the held-out contributors.
func writeTrainUNIPEN(o options, stdout io.Writer) error {
	start := time.Now()
	if o.data == "" {
		return fmt.Errorf("-train-unipen needs -data DIR with unipen/ (tools/heldout/SOURCES.md says where it comes from)")
	}
	root := filepath.Join(o.data, "unipen")
	cs, err := trainingWriters(root)
	if err != nil {
		return err
	}
	ds, st, err := readUNIPEN(root, cs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "unipen (%s): %v\n", strings.Join(cs, " "), st)
	var jobs []job
	for i, d := range ds {
		split := "train"
		if i%10 == 9 {
			split = "test"
		}
		for k := range o.unipenPer {
			n := len(jobs)
			jobs = append(jobs, func(rng *rand.Rand) (item, error) {
				pen, width, soft := canvasPen(rng)
				var s synth.Style
				if k == 0 {
					s = canvasStyle(rng)
				} else {
					s = synth.Random(rng)
					s.Pen = 0 // the pen is drawn into the mask
				}
				img := synth.Render(penMask(d.strokes, maskHeight, width, soft), s, rng)
				return item{file: classFile(split, "train-unipen", d.label, n), img: img, label: digitLabel(d.label),
					source: d.writer + " " + d.ref, style: fmt.Sprintf("%s pen %.3f soft %.1fpx", s.Name, pen, soft)}, nil
			})
		}
	}
	return writeTrainingSet(o, o.trainUNIPEN, "train-unipen", jobs, start, stdout, fmt.Sprintf(
		"# UNIPEN training writers — for training, NOT held out\n\n"+
			"Written by `go run ./tools/heldout -train-unipen`. The %d UNIPEN 1a digits of the\n"+
			"contributors %s (never the held-out ones: %s; nor tos),\n"+
			"each drawn %d times: on a drawing canvas, then on paper or photographed in random\n"+
			"synth styles. Every tenth digit is in test/. Train with `digitnet train --extra DIR`;\n"+
			"do not report results on this as held-out.\n",
		len(ds), strings.Join(cs, " "), strings.Join(heldOutWriters, " "), o.unipenPer))
}
