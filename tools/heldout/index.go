package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/internal/fsutil"
)

// index is OUT/index.json: the sets written so far, kept across runs that write
// only some of them (-sets).
type index struct {
	Note   string                `json:"note"`
	Seed   uint64                `json:"seed"`
	Inputs map[string]string     `json:"inputs"` // data file → SHA-256
	Sets   map[string]indexEntry `json:"sets"`
}

type indexEntry struct {
	Layout   string         `json:"layout"`
	Pictures int            `json:"pictures"`
	ByLabel  map[string]int `json:"by_label"`
	About    string         `json:"about"`
	Seconds  float64        `json:"seconds"`
}

const indexNote = "Held-out evaluation sets written by github.com/digitnet/digitnet/tools/heldout. NEVER train on them."

func readIndex(out string) index {
	ix := index{Sets: map[string]indexEntry{}}
	if b, err := os.ReadFile(filepath.Join(out, "index.json")); err == nil {
		json.Unmarshal(b, &ix) // a damaged index is rewritten from this run
	}
	if ix.Sets == nil {
		ix.Sets = map[string]indexEntry{}
	}
	ix.Note = indexNote
	return ix
}

// writeIndex writes index.json and a README.md listing the sets.
func writeIndex(out string, ix index) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(ix, "", " ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(out, "index.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var r strings.Builder
	r.WriteString("# Held-out handwriting — never train on these\n\n")
	r.WriteString("Written by `go run ./tools/heldout` (digitnet). Digits that are not MNIST: held-out\n")
	r.WriteString("fonts, real scans (USPS, Semeion, UCI optdigits) and held-out UNIPEN pen writers, drawn\n")
	r.WriteString("as pictures users give digitnet. Measure with\n\n")
	r.WriteString("    digitnet eval --model MODEL --data " + out + "/<set>\n\n")
	r.WriteString("(each digit set's `train/` holds only one placeholder per class, Go Regular, because the\n")
	r.WriteString("class-folder loader needs a train split; `test/` is the set). Each set has a README.md and\n")
	r.WriteString("labels.csv; index.json has the counts and the SHA-256 of the data read.\n\n")
	r.WriteString("| set | layout | pictures | about |\n|---|---|---|---|\n")
	names := make([]string, 0, len(ix.Sets))
	for n := range ix.Sets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		e := ix.Sets[n]
		fmt.Fprintf(&r, "| %s | %s | %d | %s |\n", n, e.Layout, e.Pictures, e.About)
	}
	return fsutil.WriteFile(filepath.Join(out, "README.md"), []byte(r.String()), 0o644)
}

// setReadme is a set's README.md.
func setReadme(def setDef, items []item, o options) string {
	var r strings.Builder
	fmt.Fprintf(&r, "# %s — held out: never train on this\n\n%s\n\n", def.name, def.about)
	fmt.Fprintf(&r, "%d pictures (%s), seed %d. labels.csv: file, label, source, style.\n\n", len(items), formatCounts(counts(items)), o.seed)
	switch def.layout {
	case "classes":
		r.WriteString("Evaluate: `digitnet eval --model MODEL --data DIR`, DIR being this directory.\n")
		r.WriteString("The set is `test/<digit>/`. `train/<digit>/placeholder.png` is Go Regular's digit, not held-out\n")
		r.WriteString("data: it is there because the class-folder loader reads its classes from `train/`.\n")
	case "files":
		r.WriteString("One folder per kind; none of these is a single digit. A model that abstains should\n")
		r.WriteString("abstain on all of them; `two-digits` holds two digits side by side in one picture.\n")
		fmt.Fprintf(&r, "Letters skipped because they read as digits: %s.\n", strings.Join(strings.Split(letterSkip, ""), " "))
	case "numbers":
		r.WriteString("manifest.json: for each file its text, source, style, spacing asked for (separated,\n")
		r.WriteString("tight, overlapping), size, each digit's ink box (x0,y0 inclusive, x1,y1 exclusive, in\n")
		r.WriteString("pixels, left to right), and touching / touching_pairs as measured on the ink.\n")
	}
	return r.String()
}
