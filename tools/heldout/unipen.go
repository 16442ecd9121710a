package main

// UNIPEN train_r01_v07, categories 1a (isolated digits), 1b (upper-case letters),
// 1c (lower-case letters) and 1d (symbols): pen strokes recorded on tablets. A file
// under data/<category>/<contributor>/ includes, with .INCLUDE, files under
// include/ that hold the pen's movements, components between .PEN_DOWN and
// .PEN_UP, one "x y ..." point a line; its .SEGMENT lines name a character (a
// quoted label, `\"` and `\\` escaped) and the components it is made of,
// counting pen-down components from 0 across all included files in order. y
// points up. The contributor pri counts pen-up components too and tos follows
// neither rule; neither is held out, and this reader does not handle them. Nor
// does it match cea's, ceb's and lou's segments to their strokes (drawn, most show
// other characters than their labels); the training sets leave all four out
// (misnumbered; -train-unipen read 29 wrong digits of theirs before).
// SOURCES.md §5 has the format notes.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/internal/synth"
)

// penChar is one character written on a tablet.
type penChar struct {
	label   string         // the segment's label: "7", "a", "?"
	strokes []synth.Stroke // tablet coordinates, y up
	writer  string         // contributor/writer id
	ref     string         // file and segment
}

// source is where c was read, for labels.csv: "a aga/W123 data/1c/aga/f.dat#4".
func (c penChar) source() string {
	if c.writer == "" {
		return c.label + " " + c.ref
	}
	return c.label + " " + c.writer + " " + c.ref
}

// unipenStats counts what readUNIPEN kept and why it dropped the rest.
type unipenStats struct {
	segments, kept                                                       int
	otherLabel, multiFile, badRef, empty, tooSmall, tooLarge, flatStroke int
}

func (s unipenStats) String() string {
	return fmt.Sprintf("%d segments: %d kept; dropped %d of other labels, %d spanning files, %d out of range, %d without ink, %d far smaller and %d far larger than the file's others, %d lying flat",
		s.segments, s.kept, s.otherLabel, s.multiFile, s.badRef, s.empty, s.tooSmall, s.tooLarge, s.flatStroke)
}

var segmentLine = regexp.MustCompile(`^\.SEGMENT\s+\S+\s+(\S+)\s+\S+\s+"(.*)"`)

// isDigit reports whether a label is one digit, 0-9: what category 1a holds.
func isDigit(label string) bool { return len(label) == 1 && label[0] >= '0' && label[0] <= '9' }

// readUNIPEN reads the characters of one category ("1a" digits, "1b" and "1c"
// letters, "1d" symbols) written by the given contributors under root (the
// directory holding data/ and include/), in file order, keeping the segments whose
// label keep accepts (isDigit for digits). Size outliers are judged among a file's
// kept segments only.
func readUNIPEN(root, category string, contributors []string, keep func(label string) bool) ([]penChar, unipenStats, error) {
	var out []penChar
	var st unipenStats
	for _, c := range contributors {
		var files []string
		err := filepath.WalkDir(filepath.Join(root, "data", category, c), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return nil, st, fmt.Errorf("unipen: %w", err)
		}
		sort.Strings(files)
		for _, f := range files {
			ds, err := readUNIPENFile(root, f, c, keep, &st)
			if err != nil {
				return nil, st, err
			}
			out = append(out, ds...)
		}
	}
	st.kept = len(out)
	return out, st, nil
}

// component is the points between one .PEN_DOWN and the next keyword.
type component []synth.Point

// readUNIPENFile reads one data file: its segments whose label keep accepts,
// resolved against the components of the files it includes.
func readUNIPENFile(root, path, contributor string, keep func(string) bool, st *unipenStats) ([]penChar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unipen: %w", err)
	}
	var comps []component
	writer := ""
	type seg struct{ ref, label string }
	var segs []seg
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if m := segmentLine.FindStringSubmatch(line); m != nil {
			segs = append(segs, seg{m[1], unescapeLabel(m[2])})
		} else if inc, ok := strings.CutPrefix(line, ".INCLUDE"); ok {
			if err := readComponents(root, strings.TrimSpace(inc), &comps, &writer, map[string]bool{}); err != nil {
				return nil, err
			}
		}
	}
	if writer == "" {
		writer = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	var out []penChar
	for k, s := range segs {
		st.segments++
		if !keep(s.label) {
			st.otherLabel++
			continue
		}
		idx, ok := componentRange(s.ref)
		if !ok {
			st.multiFile++
			continue
		}
		if len(comps) == 0 || slices.Max(idx) >= len(comps) {
			st.badRef++
			continue
		}
		var strokes []synth.Stroke
		for _, i := range idx {
			if len(comps[i]) > 0 {
				strokes = append(strokes, synth.Stroke(comps[i]))
			}
		}
		if len(strokes) == 0 {
			st.empty++
			continue
		}
		out = append(out, penChar{
			label:   s.label,
			strokes: strokes,
			writer:  contributor + "/" + writer,
			ref:     fmt.Sprintf("%s#%d", strings.TrimPrefix(path, root+"/"), k),
		})
	}
	return dropOutliers(out, st), nil
}

// unescapeLabel undoes a segment label's escapes: \" is a double quote, \\ a
// backslash (in 1d). A label that is not a valid Go string body stays as it is.
func unescapeLabel(s string) string {
	if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
		return u
	}
	return s
}

// readComponents appends the pen-down components of include/<name> (and of the
// files it includes) to comps; the last .WRITER_ID seen goes to writer. A missing
// include leaves its components out, and the segments that need them are
// dropped as out of range.
func readComponents(root, name string, comps *[]component, writer *string, seen map[string]bool) error {
	if seen[name] {
		return nil
	}
	seen[name] = true
	data, err := os.ReadFile(filepath.Join(root, "include", name))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("unipen: %w", err)
	}
	cur := -1 // index in comps of the component being read, -1 between them
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, ".") {
			kw := strings.Fields(line)[0]
			rest := strings.TrimSpace(line[len(kw):])
			cur = -1
			switch kw {
			case ".INCLUDE":
				if err := readComponents(root, rest, comps, writer, seen); err != nil {
					return err
				}
			case ".PEN_DOWN":
				*comps = append(*comps, nil)
				cur = len(*comps) - 1
			case ".WRITER_ID":
				*writer = rest
			}
			continue
		}
		if cur < 0 || line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		x, err1 := strconv.ParseFloat(f[0], 64)
		y, err2 := strconv.ParseFloat(f[1], 64)
		// (0, 0) is what some tablets (ibm's) record when they lose the pen: a
		// point there draws a line to the corner, so it is left out.
		if err1 == nil && err2 == nil && (x != 0 || y != 0) {
			(*comps)[cur] = append((*comps)[cur], synth.Point{X: x, Y: y})
		}
	}
	return nil
}

// componentRange parses a segment's component list, "3", "30-31" or "1,4-5"; a
// reference into another file ("0:12-0:14") is not handled (false).
func componentRange(s string) ([]int, bool) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if strings.Contains(part, ":") {
			return nil, false
		}
		a, b, isRange := strings.Cut(part, "-")
		lo, err := strconv.Atoi(a)
		if err != nil {
			return nil, false
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(b); err != nil || hi < lo {
				return nil, false
			}
		}
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
	}
	return out, len(out) > 0
}

// dropOutliers removes segments that are not a whole character: those far smaller
// than the file's typical one (a dot, a stray stroke, half a "4"), those lying
// flat, much wider than tall (a "1" recorded on its side), and those far larger.
// The large ones are ibm's: every ibm file ends with 10-30 digits in another
// coordinate frame (0-5119, clamped at its edges), many of them partial (an "8"
// without its waist, a "4" without its bar) and none comparable in size with
// the writer's other digits.
func dropOutliers(ds []penChar, st *unipenStats) []penChar {
	if len(ds) == 0 {
		return ds
	}
	sizes := make([]float64, len(ds))
	for i, d := range ds {
		lo, hi := synth.StrokeBounds(d.strokes)
		sizes[i] = max(hi.X-lo.X, hi.Y-lo.Y)
	}
	typical := median(sizes)
	out := ds[:0]
	for i, d := range ds {
		lo, hi := synth.StrokeBounds(d.strokes)
		switch {
		case sizes[i] < 0.4*typical:
			st.tooSmall++
		case sizes[i] > 4*typical:
			st.tooLarge++
		case hi.X-lo.X > 2.5*(hi.Y-lo.Y):
			st.flatStroke++
		default:
			out = append(out, d)
		}
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
