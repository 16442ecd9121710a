package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// marker is the file that says a directory is a set this program wrote, so it may
// replace it. A directory without one is never deleted.
const marker = ".heldout-set"

// item is one picture of a set and what is known about it.
type item struct {
	file   string // path inside the set, e.g. test/3/usps-00012.png
	img    image.Image
	label  string // the class (a digit) or the kind of non-digit
	source string // where the handwriting came from: font, record, writer
	style  string // the synth style's name, or how it was drawn
	extra  any    // for numbers: the manifest entry
}

// job makes one item from its own random source.
type job func(rng *rand.Rand) (item, error)

// setWriter writes a set into a temporary directory beside its final place and
// moves it there in commit, replacing an older copy of the same set: a run that
// fails or is interrupted leaves the old set whole, and never a mix.
type setWriter struct {
	name, final, tmp string
}

// newSet prepares the set name to be written to dir. It refuses to replace a
// directory that this program did not write (one without the marker file).
func newSet(dir, name string) (*setWriter, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if err := checkReplaceable(dir); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &setWriter{name: name, final: dir, tmp: tmp}, nil
}

// checkReplaceable returns an error if dir exists, is not empty and has no marker.
func checkReplaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
		return fmt.Errorf("refusing to replace %s: it exists and was not written by tools/heldout (no %s file)", dir, marker)
	}
	return nil
}

// run makes every job's item and writes it, with workers goroutines. Job i draws
// from its own source, PCG(seed, hash(set name) + i), so the output does not depend
// on the number of workers or the order they finish in. It returns the items
// without their images, sorted by file.
func (w *setWriter) run(jobs []job, seed uint64, workers int) ([]item, error) {
	h := fnv.New64a()
	h.Write([]byte(w.name))
	stream := h.Sum64()
	items := make([]item, len(jobs))
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, runtime.NumCPU())) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it, err := jobs[i](rand.New(rand.NewPCG(seed, stream+uint64(i))))
				if err == nil {
					err = w.writePNG(it.file, it.img)
				}
				it.img = nil // keep no pictures in memory
				items[i], errs[i] = it, err
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.file, b.file) })
	return items, nil
}

func (w *setWriter) writePNG(rel string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("%s: %s: %w", w.name, rel, err)
	}
	return w.writeFile(rel, b.Bytes())
}

// writeFile writes data to the set's file rel, creating its directory.
func (w *setWriter) writeFile(rel string, data []byte) error {
	p := filepath.Join(w.tmp, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// writeLabels writes labels.csv: file, label, source, style, one row per item.
func (w *setWriter) writeLabels(items []item) error {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"file", "label", "source", "style"})
	for _, it := range items {
		cw.Write([]string{it.file, it.label, it.source, it.style})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return w.writeFile("labels.csv", b.Bytes())
}

// commit writes the README and the marker, and moves the set into place.
func (w *setWriter) commit(readme string) error {
	if err := w.writeFile("README.md", []byte(readme)); err != nil {
		return err
	}
	if err := w.writeFile(marker, []byte("written by github.com/digitnet/digitnet/tools/heldout\n")); err != nil {
		return err
	}
	if err := checkReplaceable(w.final); err != nil { // again: it may have changed meanwhile
		return err
	}
	if err := os.RemoveAll(w.final); err != nil {
		return err
	}
	return os.Rename(w.tmp, w.final)
}

// abort removes the temporary directory.
func (w *setWriter) abort() { os.RemoveAll(w.tmp) }

// counts returns how many items have each label.
func counts(items []item) map[string]int {
	c := map[string]int{}
	for _, it := range items {
		c[it.label]++
	}
	return c
}

// formatCounts prints counts as "0:80 1:80 ..." in label order.
func formatCounts(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, c[k])
	}
	return strings.Join(parts, " ")
}
