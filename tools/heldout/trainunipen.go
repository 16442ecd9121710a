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

// trainingWriters returns the contributors of a UNIPEN category ("1a", ...) under
// root that are neither held out nor tos (whose stroke numbering is not understood;
// see SOURCES.md) nor misnumbered.
func trainingWriters(root, category string) ([]string, error) {
	dir := filepath.Join(root, "data", category)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("unipen: %w", err)
	}
	var cs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "tos" && !slices.Contains(heldOutWriters, e.Name()) && !slices.Contains(misnumbered, e.Name()) {
			cs = append(cs, e.Name())
		}
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("unipen: no training contributor in %s", dir)
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
	cs, err := trainingWriters(root, "1a")
	if err != nil {
		return err
	}
	ds, st, err := readUNIPEN(root, "1a", cs, isDigit)
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
		jobs = addPenJobs(jobs, "train-unipen", split, d.label, o.unipenPer, d.strokes, d.writer+" "+d.ref)
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

// addPenJobs appends to jobs the per pictures of one pen item (strokes in tablet
// coordinates, y up) as split/label/ files of set: the first as on a drawing canvas,
// the others on paper or photographed in random synth styles.
func addPenJobs(jobs []job, set, split, label string, per int, strokes []synth.Stroke, source string) []job {
	for k := range per {
		n := len(jobs)
		jobs = append(jobs, func(rng *rand.Rand) (item, error) {
			img, style := penPicture(strokes, k == 0, rng)
			return item{file: classFile(split, set, label, n), img: img, label: label, source: source, style: style}, nil
		})
	}
	return jobs
}
