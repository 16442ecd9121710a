package recipe

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/dataset"
)

// Cleanings names what Clean may drop.
var Cleanings = []string{"nonfinite", "empty", "duplicates"}

func (r *Recipe) cleaning() []string {
	if r.Clean == "" {
		return nil
	}
	return strings.Split(r.Clean, ",")
}

// testLabelMap parses TestLabelMap into a table from file label to class (-1: kept).
func (r *Recipe) testLabelMap() ([]int, error) {
	if r.TestLabelMap == "" {
		return nil, nil
	}
	m := make([]int, 256)
	for i := range m {
		m[i] = -1
	}
	for _, pair := range strings.Split(r.TestLabelMap, ",") {
		from, to, ok := strings.Cut(pair, ":")
		f, err1 := strconv.Atoi(from)
		t, err2 := strconv.Atoi(to)
		if !ok || err1 != nil || err2 != nil || f < 0 || f > 255 || t < 0 || t > 255 || m[f] >= 0 {
			return nil, &FieldError{Key: "test_label_map", Value: strconv.Quote(r.TestLabelMap), Want: `pairs "from:to" of labels 0..255, each from once, comma-separated`}
		}
		m[f] = t
	}
	return m, nil
}

// Fit adapts the recipe to data that is not MNIST-shaped: a built-in architecture
// takes the images' size and ends with a value per class, and an MLP whose layers keep
// reports as not given by the user gets the pixel count as its first layer and the
// class count as its last. For a data set whose pixel statistics are not recorded it
// notes the training set's, for input "standard".
func (r *Recipe) Fit(s *dataset.Set, keep func(key string) bool) error {
	K := len(s.Classes)
	if s.Rows != 28 || s.Cols != 28 {
		r.Image = []int{s.Rows, s.Cols}
	}
	if K != 10 {
		r.Classes = K
	}
	if r.ArchSpec == nil && r.Model == "mlp" && !keep("layers") && len(r.Layers) >= 2 {
		r.Layers = slices.Clone(r.Layers)
		r.Layers[0], r.Layers[len(r.Layers)-1] = s.Rows*s.Cols, K
		if K == 2 && (r.Output == "sigmoid") {
			r.Layers[len(r.Layers)-1] = 1
		}
	}
	if _, err := dataset.Lookup(r.Dataset); err != nil && r.PixelStd == 0 && s.Name != dataset.FolderName {
		r.PixelMean, r.PixelStd = s.PixelStats()
		if r.PixelStd == 0 {
			r.PixelStd = 1
		}
	}
	return r.Validate()
}

// Prepare applies the recipe's data fixes (Clean, LabelShift, Balance to the training
// set; TestLabelMap, InvertTest to the test set; nonfinite to both) and returns the sets
// to train and test on, copies where anything changed, with a line for each change. A
// set with NaN or infinite pixels is an error unless Clean drops them.
func (r *Recipe) Prepare(trainSet, testSet *dataset.Set) (tr, te *dataset.Set, notes []string, err error) {
	clean := r.cleaning()
	tr, te = trainSet, testSet
	for _, s := range []*dataset.Set{tr, te} {
		if len(s.NonFinite) > 0 && !slices.Contains(clean, "nonfinite") {
			return nil, nil, nil, fmt.Errorf("recipe: the %s set has %d images with NaN or infinite pixels (the first is image %d): drop them with clean \"nonfinite\"", s.Split, len(s.NonFinite), s.NonFinite[0])
		}
	}
	note := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }
	if slices.Contains(clean, "nonfinite") {
		for _, p := range []**dataset.Set{&tr, &te} {
			if n := len((*p).NonFinite); n > 0 {
				*p = keepOnly(*p, func(i int) bool { _, bad := slices.BinarySearch((*p).NonFinite, i); return !bad })
				note("clean nonfinite: dropped %d %s images with NaN or infinite pixels", n, (*p).Split)
			}
		}
	}
	if k := r.LabelShift; k != 0 {
		tr = shiftLabels(tr, k)
		note("label shift %d: training image i has label i%+d; %d images keep a label", k, k, tr.N)
	}
	if slices.Contains(clean, "empty") {
		before := tr.N
		tr = keepOnly(tr, func(i int) bool { return !Empty(tr.Image(i)) })
		note("clean empty: dropped %d blank or near-blank training images", before-tr.N)
	}
	if slices.Contains(clean, "duplicates") {
		before := tr.N
		tr = keepOnly(tr, firstOccurrences(tr))
		note("clean duplicates: dropped %d training images that repeat an earlier one", before-tr.N)
	}
	if r.Balance == "oversample" {
		before := tr.N
		tr = oversample(tr)
		note("balance oversample: %d training images, %d repeated from the rarer classes", tr.N, tr.N-before)
	}
	if m, _ := r.testLabelMap(); m != nil {
		te = relabel(te, m)
		note("test label map %s", r.TestLabelMap)
	}
	if r.InvertTest {
		te = invert(te)
		note("invert test: the test images' ink and paper swapped")
	}
	return tr, te, notes, nil
}

// firstOccurrences accepts the images that do not repeat an earlier one exactly.
func firstOccurrences(s *dataset.Set) func(i int) bool {
	seen := map[uint64][]int{} // by FNV-1a hash of the pixels
	return func(i int) bool {
		h := fnv.New64a()
		h.Write(s.Image(i))
		k := h.Sum64()
		for _, j := range seen[k] {
			if slices.Equal(s.Image(j), s.Image(i)) {
				return false
			}
		}
		seen[k] = append(seen[k], i)
		return true
	}
}

// Empty reports an image with (almost) nothing on it: fewer than 1 % of its pixels
// differ from its most common value by more than a tenth of the range.
func Empty(px []uint8) bool {
	var hist [256]int
	for _, v := range px {
		hist[v]++
	}
	mode := 0
	for v, n := range hist {
		if n > hist[mode] {
			mode = v
		}
	}
	ink := 0
	for _, v := range px {
		if math.Abs(float64(int(v)-mode)) > 25.5 {
			ink++
		}
	}
	return ink*100 < len(px)
}

// keepOnly is a copy of s with the images keep accepts.
func keepOnly(s *dataset.Set, keep func(i int) bool) *dataset.Set {
	out := *s
	out.Images, out.Labels, out.NonFinite = nil, nil, nil
	d := s.Rows * s.Cols
	for i := range s.N {
		if keep(i) {
			out.Images = append(out.Images, s.Images[i*d:(i+1)*d]...)
			out.Labels = append(out.Labels, s.Labels[i])
		}
	}
	out.N = len(out.Labels)
	return &out
}

// shiftLabels pairs image i with label i+k, dropping the images left without one.
func shiftLabels(s *dataset.Set, k int) *dataset.Set {
	out := *s
	d := s.Rows * s.Cols
	lo, hi := max(0, -k), min(s.N, s.N-k)
	if hi <= lo {
		out.N, out.Images, out.Labels = 0, nil, nil
		return &out
	}
	out.Images = s.Images[lo*d : hi*d]
	out.Labels = s.Labels[lo+k : hi+k]
	out.N = hi - lo
	out.NonFinite = nil
	return &out
}

// oversample repeats the rarer classes' images until every class has as many as the
// most common one. The result takes the classes in turn (an image of each, then the next
// of each), so that any stretch of it is balanced too.
func oversample(s *dataset.Set) *dataset.Set {
	byClass := make([][]int, len(s.Classes))
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	most := 0
	for _, c := range byClass {
		most = max(most, len(c))
	}
	out := *s
	d := s.Rows * s.Cols
	out.Images, out.Labels = nil, nil
	for j := range most {
		for _, c := range byClass {
			if len(c) > 0 {
				i := c[j%len(c)]
				out.Images = append(out.Images, s.Images[i*d:(i+1)*d]...)
				out.Labels = append(out.Labels, s.Labels[i])
			}
		}
	}
	out.N = len(out.Labels)
	return &out
}

// relabel maps labels through m (-1: kept).
func relabel(s *dataset.Set, m []int) *dataset.Set {
	out := *s
	out.Labels = slices.Clone(s.Labels)
	for i, l := range out.Labels {
		if t := m[l]; t >= 0 {
			out.Labels[i] = uint8(t)
		}
	}
	return &out
}

// invert swaps ink and paper: 255 - v.
func invert(s *dataset.Set) *dataset.Set {
	out := *s
	out.Images = make([]uint8, len(s.Images))
	for i, v := range s.Images {
		out.Images[i] = 255 - v
	}
	return &out
}
