package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/digitnet/digitnet/internal/synth"
)

// writeTrainFonts writes the training-group fonts' digits in random styles as
// class folders, train/<digit>/ and a tenth as many in test/<digit>/, so that
// `digitnet train --data DIR` can use them. These faces are never held out.
func writeTrainFonts(o options, idx map[string]string, stdout io.Writer) error {
	start := time.Now()
	faces, missing := loadFaces(trainingFaces, idx)
	for _, m := range missing {
		fmt.Fprintf(stdout, "training font missing: %s\n", m)
	}
	if len(faces) == 0 {
		return fmt.Errorf("-train-fonts: no training-group font is installed (scripts/heldout installs them)")
	}
	var jobs []job
	for _, f := range faces {
		for d := range 10 {
			m, err := f.font.Glyph(rune('0'+d), glyphPPEM)
			if err != nil {
				fmt.Fprintf(stdout, "%s: no digit %d: %v\n", f.file, d, err)
				continue
			}
			for k := range o.trainPer + max(1, o.trainPer/10) {
				split := "train"
				if k >= o.trainPer {
					split = "test"
				}
				i := len(jobs)
				jobs = append(jobs, func(rng *rand.Rand) (item, error) {
					st := synth.Random(rng)
					return item{file: classFile(split, "train-fonts", digitLabel(d), i), img: synth.Render(m, st, rng),
						label: digitLabel(d), source: f.file, style: st.Name}, nil
				})
			}
		}
	}
	return writeTrainingSet(o, o.trainFonts, "train-fonts", jobs, start, stdout, fmt.Sprintf(
		"# Training-group handwriting fonts — for augmentation, NOT held out\n\n"+
			"Written by `go run ./tools/heldout -train-fonts`. The digits of %d training-group fonts\n"+
			"(SOURCES.md §4; never the held-out faces: fonts-bwht, Kristi, NanumPen),\n"+
			"%d per face and digit in train/ and %d in test/, each in a random synth style.\n"+
			"Train with `digitnet train --data DIR`; do not report results on this as held-out.\n",
		len(faces), o.trainPer, max(1, o.trainPer/10)))
}

// writeTrainingSet draws jobs into the training set name at dir, with its labels and
// readme, all or nothing, and says how many pictures it wrote since start.
func writeTrainingSet(o options, dir, name string, jobs []job, start time.Time, stdout io.Writer, readme string) error {
	w, err := newSet(dir, name)
	if err != nil {
		return err
	}
	items, err := w.run(jobs, o.seed, o.workers)
	if err == nil {
		err = w.writeLabels(items)
	}
	if err == nil {
		err = w.commit(readme)
	}
	if err != nil {
		w.abort()
		return err
	}
	fmt.Fprintf(stdout, "%-16s %6d pictures  %s  (%.1f s)\n", name, len(items), formatCounts(counts(items)), time.Since(start).Seconds())
	return nil
}
