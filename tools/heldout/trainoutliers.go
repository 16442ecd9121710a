package main

// Outlier exposure: pictures that are not one digit, which a model is trained to
// answer with a uniform output, "not sure". They are real pen recordings of
// UNIPEN's training contributors (letters, symbols, two digits in one box, letters
// written over one another), never what the held-out nondigits set draws from (the
// held-out fonts' letters, generated scribbles, noise, blank and ruled paper), so
// that nondigits still measures abstention on something the model has not seen.

import (
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/digitnet/digitnet/internal/synth"
)

// outlierLetterSkip are the letters left out of the outliers: those nondigits
// leaves out because they read as digits (letterSkip), and D, which a round hand
// writes as a 0.
const outlierLetterSkip = letterSkip + "D"

// symbolSkip are the UNIPEN 1d symbols left out of the outliers: those that are a
// digit's stroke (| / \ ! ( ) [ ] { } read as a 1, - _ ~ as a stray dash), next to
// nothing (. , ' ` " : ;), and two that these writers often write as a digit: ^ as
// a 1 with its flag and > as a 7 (one in six or more of them, on a contact sheet).
const symbolSkip = `|/\!()[]{}.,'` + "`" + `":;-_~^>`

// misnumbered are UNIPEN contributors whose segments this reader does not match
// to their strokes: drawn, a segment shows another character than its label (pri's
// "S" a 9, "O" a 1; cea's and ceb's labels name parts of whole words; lou's "m" a
// 3). pri counts pen-up components too; cea and ceb mostly refer across files.
// Neither -train-outliers nor -train-unipen reads them (trainingWriters), as they
// read no held-out contributor nor tos.
var misnumbered = []string{"cea", "ceb", "lou", "pri"}

// outlierCounts are how many items -train-outliers makes of each kind that is
// chosen or made up rather than read whole: letters kept at most (about 37k are
// read), digit pairs and tangles made. The symbols are all kept (about 2k).
var outlierCounts = map[string]int{"letter": 4000, "pair": 1500, "tangle": 1000}

// isOutlierLetter reports whether label is one letter that does not read as a digit.
func isOutlierLetter(label string) bool {
	r, n := utf8.DecodeRuneInString(label)
	return n > 0 && n == len(label) && unicode.IsLetter(r) && !strings.ContainsRune(outlierLetterSkip, r)
}

// isOutlierSymbol reports whether label is one visible character, neither letter
// nor digit, that does not read as a digit's stroke or as nothing (symbolSkip).
func isOutlierSymbol(label string) bool {
	r, n := utf8.DecodeRuneInString(label)
	return n > 0 && n == len(label) && r != utf8.RuneError && unicode.IsGraphic(r) && !unicode.IsSpace(r) &&
		!unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(symbolSkip, r)
}

// outlierSources are the pen characters the outliers are made of, each list in
// file order.
type outlierSources struct {
	letters []penChar // 1b and 1c, all kept (tangles draw from all of them)
	symbols []penChar // 1d
	digits  []penChar // 1a, for the pairs
	readers []string  // what was read from where, a line each, for the README
}

// readOutliers reads the letters, symbols and digits of the contributors
// trainingWriters gives, reporting each category's counts to stdout.
func readOutliers(root string, stdout io.Writer) (*outlierSources, error) {
	var src outlierSources
	for _, c := range []struct {
		category string
		keep     func(string) bool
		dst      *[]penChar
	}{
		{"1a", isDigit, &src.digits},
		{"1b", isOutlierLetter, &src.letters},
		{"1c", isOutlierLetter, &src.letters},
		{"1d", isOutlierSymbol, &src.symbols},
	} {
		cs, err := trainingWriters(root, c.category)
		if err != nil {
			return nil, err
		}
		ps, st, err := readUNIPEN(root, c.category, cs, c.keep)
		if err != nil {
			return nil, err
		}
		line := fmt.Sprintf("unipen %s (%s): %v", c.category, strings.Join(cs, " "), st)
		fmt.Fprintln(stdout, line)
		src.readers = append(src.readers, line)
		*c.dst = append(*c.dst, ps...)
	}
	if len(src.letters) == 0 || len(src.symbols) == 0 || len(src.digits) < 2 {
		return nil, fmt.Errorf("unipen: %s: %d letters, %d symbols and %d digits; -train-outliers needs some of each (two digits)", root, len(src.letters), len(src.symbols), len(src.digits))
	}
	return &src, nil
}

// writeTrainOutliers writes the outlier-exposure training set, class folders of
// kinds, each item o.outliersPer times (the first as on a drawing canvas, the others
// on paper or photographed in random synth styles) and every tenth item of a kind
// in test/ instead of train/:
//
//   - letter: UNIPEN 1b and 1c letters, without those that read as digits, at most
//     outlierCounts["letter"], evenly over the letters;
//   - symbol: UNIPEN 1d symbols, without digit-like strokes and dots (symbolSkip);
//   - pair: two UNIPEN 1a digits of one writer side by side in one box, apart,
//     touching or overlapping a little;
//   - tangle: 2 or 3 letters written over one another.
//
// Only UNIPEN's training contributors are read, without the misnumbered ones.
func writeTrainOutliers(o options, stdout io.Writer) error {
	start := time.Now()
	if o.data == "" {
		return fmt.Errorf("-train-outliers needs -data DIR with unipen/ (tools/heldout/SOURCES.md says where it comes from)")
	}
	src, err := readOutliers(filepath.Join(o.data, "unipen"), stdout)
	if err != nil {
		return err
	}
	letters := capEvenly(src.letters, outlierCounts["letter"])
	// Pairs and tangles are made here, from one source of their own, so that every
	// picture of an item shows the same strokes whatever -j.
	h := fnv.New64a()
	h.Write([]byte("train-outliers: pairs and tangles"))
	rng := rand.New(rand.NewPCG(o.seed, h.Sum64()))
	pairs := makePairs(src.digits, outlierCounts["pair"], rng)
	tangles := makeTangles(src.letters, outlierCounts["tangle"], rng)

	var jobs []job
	for _, kind := range []struct {
		name  string
		items []penChar
	}{{"letter", letters}, {"symbol", src.symbols}, {"pair", pairs}, {"tangle", tangles}} {
		for i, c := range kind.items {
			split := "train"
			if i%10 == 9 {
				split = "test"
			}
			jobs = addPenJobs(jobs, "train-outliers", split, kind.name, o.outliersPer, c.strokes, c.source())
		}
	}
	return writeTrainingSet(o, o.trainOutliers, "train-outliers", jobs, start, stdout,
		outliersReadme(o, src, len(letters), len(pairs), len(tangles)))
}

// capEvenly returns at most n of cs, spread as evenly as it can over their labels
// (a label with fewer than its share keeps them all and leaves the rest to the
// others), each label's taken at even steps through its occurrences, which are in
// file order, so every contributor keeps its part. The order of cs is kept.
func capEvenly(cs []penChar, n int) []penChar {
	if len(cs) <= n {
		return cs
	}
	byLabel := map[string][]int{}
	for i, c := range cs {
		byLabel[c.label] = append(byLabel[c.label], i)
	}
	labels := make([]string, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	// Fewest first: what a rare label cannot take goes to the later ones.
	slices.SortFunc(labels, func(a, b string) int {
		if d := len(byLabel[a]) - len(byLabel[b]); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	keep := make([]bool, len(cs))
	left := n
	for k, l := range labels {
		idx := byLabel[l]
		take := min(len(idx), left/(len(labels)-k))
		for j := range take {
			keep[idx[j*len(idx)/take]] = true
		}
		left -= take
	}
	var out []penChar
	for i, c := range cs {
		if keep[i] {
			out = append(out, c)
		}
	}
	return out
}

// strokeSize is what FitStrokes scales to the mask's height: the height, or half
// the width of a wide mark.
func strokeSize(strokes []synth.Stroke) float64 {
	lo, hi := synth.StrokeBounds(strokes)
	return max(hi.Y-lo.Y, (hi.X-lo.X)/2, 1e-9)
}

// placeStrokes returns strokes scaled by s with their box's lower left corner (y up)
// moved to (x, y), and the box's width after scaling.
func placeStrokes(strokes []synth.Stroke, s, x, y float64) ([]synth.Stroke, float64) {
	lo, hi := synth.StrokeBounds(strokes)
	out := make([]synth.Stroke, len(strokes))
	for i, st := range strokes {
		out[i] = make(synth.Stroke, len(st))
		for j, p := range st {
			out[i][j] = synth.Point{X: x + (p.X-lo.X)*s, Y: y + (p.Y-lo.Y)*s}
		}
	}
	return out, (hi.X - lo.X) * s
}

// makePairs makes n items of two digits in one box: a random digit and another of
// the same writer (any writer's when it wrote only one), the taller
// 100 units high and the other as its writer wrote it (at least 0.6 of that), side
// by side at a spacing of pickSpacing's, their baselines up to 5 units apart. An
// overlap is at most 0.15 of the narrower digit's width: more, and a "1" and a "3"
// merge into a B, two round digits into an 8.
func makePairs(digits []penChar, n int, rng *rand.Rand) []penChar {
	byWriter := map[string][]int{}
	all := make([]int, len(digits))
	for i, d := range digits {
		byWriter[d.writer] = append(byWriter[d.writer], i)
		all[i] = i
	}
	out := make([]penChar, n)
	for k := range out {
		i := rng.IntN(len(digits))
		pool := byWriter[digits[i].writer]
		if len(pool) < 2 {
			pool = all
		}
		j := pool[rng.IntN(len(pool)-1)] // one of pool without i
		if j == i {
			j = pool[len(pool)-1]
		}
		a, b := digits[i], digits[j]
		sa, sb := strokeSize(a.strokes), strokeSize(b.strokes)
		ref := max(sa, sb)
		ka, kb := 100*max(sa/ref, 0.6)/sa, 100*max(sb/ref, 0.6)/sb
		_, wb := placeStrokes(b.strokes, kb, 0, 0)
		pa, wa := placeStrokes(a.strokes, ka, 0, 0)
		sp := pickSpacing(rng)
		gap := max((sp.min+(sp.max-sp.min)*rng.Float64())*100, -0.15*min(wa, wb))
		pb, _ := placeStrokes(b.strokes, kb, wa+gap, 5*(2*rng.Float64()-1))
		out[k] = penChar{
			label:   a.label + b.label,
			strokes: append(pa, pb...),
			writer:  a.writer,
			ref:     fmt.Sprintf("%s + %s %s, %s", a.ref, b.writer, b.ref, sp.name),
		}
	}
	return out
}

// makeTangles makes n illegible scrawls: 2 or 3 random letters written over one
// another, each 80-120 units high, moved by up to 30 units across and 20 up or down.
func makeTangles(letters []penChar, n int, rng *rand.Rand) []penChar {
	out := make([]penChar, n)
	for k := range out {
		var t penChar
		var refs []string
		for range 2 + rng.IntN(2) {
			c := letters[rng.IntN(len(letters))]
			s := (80 + 40*rng.Float64()) / strokeSize(c.strokes)
			p, _ := placeStrokes(c.strokes, s, 30*(2*rng.Float64()-1), 20*(2*rng.Float64()-1))
			t.label += c.label
			t.strokes = append(t.strokes, p...)
			refs = append(refs, c.writer+" "+c.ref)
		}
		t.ref = strings.Join(refs, " + ")
		out[k] = t
	}
	return out
}

// outliersReadme is the set's README.md.
func outliersReadme(o options, src *outlierSources, letters, pairs, tangles int) string {
	symbols := map[string]int{}
	for _, c := range src.symbols {
		symbols[c.label]++
	}
	var r strings.Builder
	fmt.Fprintf(&r, "# Outlier exposure: not one digit — for training, NOT held out\n\n"+
		"Written by `go run ./tools/heldout -train-outliers` (seed %d). Pictures that are not a single\n"+
		"digit, for training a model to answer them with a uniform output (\"not sure\"). All are real pen\n"+
		"recordings of UNIPEN's training contributors, never the held-out ones (%s); nor tos,\n"+
		"nor %s, whose segments this reader does not match to their strokes. Each item is\n"+
		"drawn %d times: on a drawing canvas, then on paper or photographed in random synth styles.\n"+
		"Every tenth item of a kind is in test/. The held-out `nondigits` set is drawn from other\n"+
		"sources (held-out fonts, generated scribbles, noise, paper): do not report results on this\n"+
		"set as held-out.\n\n",
		o.seed, strings.Join(heldOutWriters, " "), strings.Join(misnumbered, " "), o.outliersPer)
	fmt.Fprintf(&r, "| kind | items | what |\n|---|---|---|\n")
	fmt.Fprintf(&r, "| letter | %d | UNIPEN 1b and 1c letters, at most %d of the %d read, evenly over the letters; without %s, which read as digits |\n",
		letters, outlierCounts["letter"], len(src.letters), strings.Join(strings.Split(outlierLetterSkip, ""), " "))
	fmt.Fprintf(&r, "| symbol | %d | UNIPEN 1d symbols: %s |\n", len(src.symbols), formatCounts(symbols))
	fmt.Fprintf(&r, "| pair | %d | two UNIPEN 1a digits of one writer in one box, apart, touching or overlapping a little |\n", pairs)
	fmt.Fprintf(&r, "| tangle | %d | 2 or 3 letters written over one another |\n\n", tangles)
	fmt.Fprintf(&r, "Symbols left out as a digit's stroke, as next to nothing, or as often written like a\n"+
		"digit (^ as a 1, > as a 7): %s.\n"+
		"Segments far smaller or larger than their file's others (dots, stray strokes) and lying\n"+
		"flat are left out too.\n"+
		"labels.csv: file, kind, the characters and where they were read, how they were drawn.\n\n", strings.Join(strings.Split(symbolSkip, ""), " "))
	r.WriteString("Read:\n\n")
	for _, l := range src.readers {
		fmt.Fprintf(&r, "    %s\n", l)
	}
	return r.String()
}
