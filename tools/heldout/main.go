// Command heldout writes the held-out evaluation sets: handwriting that is not
// MNIST, which digitnet must never train on, as pictures like the ones users give
// it. The sources are handwriting fonts and real scans and pen recordings
// (SOURCES.md); internal/synth draws them.
//
//	go run ./tools/heldout -out ~/heldout -data ~/heldout-data
//	go run ./tools/heldout -train-fonts ~/train-fonts     # the other group
//	go run ./tools/heldout -data ~/heldout-data -train-unipen ~/train-unipen  # UNIPEN's other writers
//	go run ./tools/heldout -data ~/heldout-data -train-outliers ~/train-outliers  # their non-digits
//	go run ./tools/heldout -list-packages                       # for scripts/heldout
//
// Digit sets are class folders that `digitnet eval --model M --data OUT/<set>`
// reads: OUT/<set>/test/<digit>/*.png, and OUT/<set>/train/<digit>/ holding one
// placeholder picture per class (Go Regular, a print font, not held-out data)
// because the class-folder loader wants a train split. nondigits has one folder
// per kind; numbers has pictures and manifest.json. Each set has labels.csv and a
// README.md; OUT/index.json lists the sets. Sets whose sources are missing are
// skipped with a message. The output is the same for the same -seed, whatever -j.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/digitnet/digitnet/internal/synth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "heldout:", err)
		os.Exit(1)
	}
}

type options struct {
	out, data, fontDir string
	seed               uint64
	workers            int
	only               []string
	per, numbers       int
	trainFonts         string
	trainPer           int
	trainUNIPEN        string
	unipenPer          int
	trainOutliers      string
	outliersPer        int
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("heldout", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.out, "out", "", "write the held-out sets to `DIR` (outside the repository)")
	fs.StringVar(&o.data, "data", "", "`DIR` with the real handwriting: usps/, semeion/, optdigits/, unipen/ (without it those sets are skipped)")
	fs.StringVar(&o.fontDir, "fonts", "/usr/share/fonts", "`DIR` the font packages install into")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed writes the same files")
	fs.IntVar(&o.workers, "j", 1, "pictures drawn at once (1 leaves the other cores alone)")
	only := fs.String("sets", "", "comma-separated sets to write (default: all)")
	fs.IntVar(&o.per, "per", 60, "fonts-styled: pictures per held-out face and digit")
	fs.IntVar(&o.numbers, "numbers", 600, "numbers: pictures from each of fonts and UNIPEN (half as many from USPS)")
	fs.StringVar(&o.trainFonts, "train-fonts", "", "write the TRAINING-group fonts' digits in random styles to `DIR` as class folders (for augmentation; never held out)")
	fs.IntVar(&o.trainPer, "train-per", 100, "-train-fonts: training pictures per face and digit (a tenth as many again for test/)")
	fs.StringVar(&o.trainUNIPEN, "train-unipen", "", "write the UNIPEN digits of the contributors NOT held out (from -data) to `DIR` as class folders, for training")
	fs.IntVar(&o.unipenPer, "unipen-per", 2, "-train-unipen: pictures of each digit (the first on a drawing canvas, the others in random styles)")
	fs.StringVar(&o.trainOutliers, "train-outliers", "", "write pictures that are NOT one digit, UNIPEN letters, symbols, digit pairs and tangles of the contributors not held out (from -data), to `DIR` as class folders of kinds, for outlier-exposure training")
	fs.IntVar(&o.outliersPer, "outliers-per", 2, "-train-outliers: pictures of each item (the first on a drawing canvas, the others in random styles)")
	listPackages := fs.Bool("list-packages", false, "print the Debian font packages of both font groups, one a line, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *listPackages {
		for _, p := range packages(append(slices.Clone(heldOutFaces), trainingFaces...)) {
			fmt.Fprintln(stdout, p)
		}
		return nil
	}
	if *only != "" {
		o.only = strings.Split(*only, ",")
	}
	if o.out == "" && o.trainFonts == "" && o.trainUNIPEN == "" && o.trainOutliers == "" {
		return errors.New("nothing to do: give -out DIR (held-out sets), -train-fonts DIR (training fonts), -train-unipen DIR (training writers) or -train-outliers DIR (their non-digits)")
	}
	if o.unipenPer < 1 {
		return fmt.Errorf("-unipen-per %d, want at least 1", o.unipenPer)
	}
	if o.outliersPer < 1 {
		return fmt.Errorf("-outliers-per %d, want at least 1", o.outliersPer)
	}
	dirs := []string{o.out, o.trainFonts, o.trainUNIPEN, o.trainOutliers}
	for i, a := range dirs {
		for _, b := range dirs[i+1:] {
			if err := checkPlaces(a, b); err != nil {
				return err
			}
		}
	}
	if o.trainUNIPEN != "" {
		if err := writeTrainUNIPEN(o, stdout); err != nil {
			return err
		}
	}
	if o.trainOutliers != "" {
		if err := writeTrainOutliers(o, stdout); err != nil {
			return err
		}
	}
	if o.out == "" && o.trainFonts == "" {
		return nil
	}
	idx, err := fontIndex(o.fontDir)
	if err != nil {
		return fmt.Errorf("fonts: %w", err)
	}
	if o.out != "" {
		if err := writeHeldOut(o, idx, stdout); err != nil {
			return err
		}
	}
	if o.trainFonts != "" {
		return writeTrainFonts(o, idx, stdout)
	}
	return nil
}

// checkPlaces refuses output directories inside this repository (generated data
// is never committed) and held-out and training output inside one another.
func checkPlaces(out, train string) error {
	abs := map[string]string{}
	for _, d := range []string{out, train} {
		if d == "" {
			continue
		}
		a, err := filepath.Abs(d)
		if err != nil {
			return err
		}
		abs[d] = a
		if repo := enclosingRepo(a); repo != "" {
			return fmt.Errorf("%s is inside the repository %s: write generated data outside it", d, repo)
		}
	}
	if out != "" && train != "" {
		a, b := abs[out], abs[train]
		if a == b || strings.HasPrefix(a+"/", b+"/") || strings.HasPrefix(b+"/", a+"/") {
			return fmt.Errorf("output directories %s and %s overlap: held-out and training data, and each training set, must stay apart", out, train)
		}
	}
	return nil
}

// enclosingRepo returns the directory of the digitnet module holding path, if any.
func enclosingRepo(path string) string {
	for d := path; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/digitnet/digitnet\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// writeHeldOut loads the sources and writes every set that has them.
func writeHeldOut(o options, idx map[string]string, stdout io.Writer) error {
	start := time.Now()
	g, inputs, err := loadSources(o, idx, stdout)
	if err != nil {
		return err
	}
	index := readIndex(o.out)
	index.Seed, index.Inputs = o.seed, inputs
	total := 0
	for _, def := range g.sets() {
		// Tuning sets (not held out) are written only when named.
		if len(o.only) > 0 && !slices.Contains(o.only, def.name) || len(o.only) == 0 && strings.HasPrefix(def.name, "tune-") {
			continue
		}
		if why := def.needs(); why != "" {
			fmt.Fprintf(stdout, "%-16s skipped: %s\n", def.name, why)
			continue
		}
		t0 := time.Now()
		items, err := writeSet(o, g, def)
		if err != nil {
			return fmt.Errorf("%s: %w", def.name, err)
		}
		c := counts(items)
		secs := time.Since(t0).Seconds()
		total += len(items)
		if def.layout == "numbers" {
			c = numberKinds(items)
		}
		fmt.Fprintf(stdout, "%-16s %6d pictures  %s  (%.1f s)\n", def.name, len(items), formatCounts(c), secs)
		index.Sets[def.name] = indexEntry{Layout: def.layout, Pictures: len(items), ByLabel: c, About: def.about, Seconds: secs}
	}
	if err := writeIndex(o.out, index); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d pictures in %s, %.0f s\n", total, o.out, time.Since(start).Seconds())
	return nil
}

// numberKinds counts numbers by source and by whether neighbours touch.
func numberKinds(items []item) map[string]int {
	c := map[string]int{}
	for _, it := range items {
		e := it.extra.(numberEntry)
		c[strings.SplitN(e.File, "-", 2)[0]]++
		if e.Touching {
			c["touching"]++
		}
	}
	return c
}

// writeSet draws one set's pictures and writes them with its labels, README,
// placeholders and manifest.
func writeSet(o options, g *gen, def setDef) ([]item, error) {
	w, err := newSet(filepath.Join(o.out, def.name), def.name)
	if err != nil {
		return nil, err
	}
	items, err := w.run(def.jobs(), o.seed, o.workers)
	if err == nil {
		err = w.writeLabels(items)
	}
	if err == nil && def.layout == "classes" {
		err = writePlaceholders(w, g.placeholders)
	}
	if err == nil && def.layout == "numbers" {
		err = writeManifest(w, items)
	}
	if err == nil {
		err = w.commit(setReadme(def, items, o))
	}
	if err != nil {
		w.abort()
		return nil, err
	}
	return items, nil
}

// writePlaceholders writes train/<d>/placeholder.png, Go Regular's digit d:
// `digitnet eval --data` loads class folders through dataset.LoadFolder, which
// takes its classes from train/ and fails on an empty train split.
func writePlaceholders(w *setWriter, ms [10]*synth.Mask) error {
	st, _ := synth.Preset("clean")
	for d, m := range ms {
		img := synth.Render(m, st, rand.New(rand.NewPCG(0, uint64(d)))) // clean style: nothing random
		if err := w.writePNG(fmt.Sprintf("train/%d/placeholder.png", d), img); err != nil {
			return err
		}
	}
	return nil
}

func writeManifest(w *setWriter, items []item) error {
	entries := make([]numberEntry, len(items))
	for i, it := range items {
		entries[i] = it.extra.(numberEntry)
	}
	b, err := json.MarshalIndent(entries, "", " ")
	if err != nil {
		return err
	}
	return w.writeFile("manifest.json", append(b, '\n'))
}

// loadSources loads the fonts and whatever real data -data has, reporting what
// is missing, and returns the hashes of the data files read.
func loadSources(o options, idx map[string]string, stdout io.Writer) (*gen, map[string]string, error) {
	g := &gen{per: o.per, numbers: o.numbers}
	faces, missing := loadFaces(heldOutFaces, idx)
	for _, m := range missing {
		fmt.Fprintf(stdout, "held-out font missing: %s\n", m)
	}
	for _, f := range faces {
		var ds [10]*synth.Mask
		n := 0
		for d := range ds {
			m, err := f.font.Glyph(rune('0'+d), glyphPPEM)
			if err != nil {
				fmt.Fprintf(stdout, "%s: no digit %d: %v\n", f.file, d, err)
				continue
			}
			ds[d], n = m, n+1
		}
		if n == 0 {
			continue // a face without digits is no use
		}
		g.heldFaces = append(g.heldFaces, f)
		g.glyphs = append(g.glyphs, ds)
		ls := map[rune]*synth.Mask{}
		for _, r := range letters() {
			if m, err := f.font.Glyph(r, glyphPPEM); err == nil {
				ls[r] = m
			}
		}
		g.letters = append(g.letters, ls)
	}
	// The training-group faces, for the tuning sets only (never held out).
	tfaces, _ := loadFaces(trainingFaces, idx)
	for _, f := range tfaces {
		var ds [10]*synth.Mask
		for d := range ds {
			ds[d], _ = f.font.Glyph(rune('0'+d), glyphPPEM)
		}
		g.trainFaces = append(g.trainFaces, f)
		g.trainGlyphs = append(g.trainGlyphs, ds)
	}
	goFont, err := synth.ParseFont(goregular.TTF)
	if err != nil {
		return nil, nil, err
	}
	for d := range g.placeholders {
		if g.placeholders[d], err = goFont.Glyph(rune('0'+d), glyphPPEM); err != nil {
			return nil, nil, err
		}
	}

	inputs := map[string]string{}
	if o.data == "" {
		fmt.Fprintln(stdout, "no -data: the real handwriting sets (usps, semeion, optdigits, unipen) are skipped")
		return g, inputs, nil
	}
	if _, err := os.Stat(o.data); err != nil {
		fmt.Fprintf(stdout, "-data %s: %v: the real handwriting sets are skipped\n", o.data, err)
		return g, inputs, nil
	}
	loadScans := func(dst *[]scan, rel string, read func(string) ([]scan, error)) error {
		p := filepath.Join(o.data, rel)
		s, err := read(p)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "%s not found: its sets are skipped\n", p)
			return nil
		} else if err != nil {
			return err
		}
		*dst = s
		inputs[rel], err = fileSHA256(p)
		return err
	}
	for _, src := range []struct {
		dst  *[]scan
		rel  string
		read func(string) ([]scan, error)
	}{
		{&g.uspsTest, "usps/zip.test.gz", readUSPS},
		{&g.uspsTrain, "usps/zip.train.gz", readUSPS},
		{&g.semeion, "semeion/semeion.data", readSemeion},
		{&g.optdigits, "optdigits/optdigits-orig.windep", readOptdigits},
		{&g.optdigitsTune, "optdigits/optdigits-orig.tra", readOptdigits},
	} {
		if err := loadScans(src.dst, src.rel, src.read); err != nil {
			return nil, nil, err
		}
	}
	root := filepath.Join(o.data, "unipen")
	if _, err := os.Stat(filepath.Join(root, "data", "1a")); err != nil {
		fmt.Fprintf(stdout, "%s: %v: unipen is skipped\n", root, err)
		return g, inputs, nil
	}
	ds, st, err := readUNIPEN(root, "1a", heldOutWriters, isDigit)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "unipen (%s): %v\n", strings.Join(heldOutWriters, " "), st)
	g.unipen = ds
	return g, inputs, nil
}

// heldOutWriters are the UNIPEN contributors held out (the notes' §4).
var heldOutWriters = []string{"ced", "ibm", "imp", "uqb"}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
