package dataset

// A user's IDX files: any image size, any number of classes, named like MNIST's files
// with an optional prefix (emnist-digits-train-images-idx3-ubyte.gz, …), gzipped or
// not. They are used as they are; files that match a known data set's checksums are
// reported as that data set.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/digitnet/digitnet/idx"
)

// Files are the four IDX files of a data set in a directory.
type Files struct {
	Dir    string
	Prefix string // what precedes "train-images-idx3-ubyte" in their names
	// TrainImages, TrainLabels, TestImages, TestLabels are the paths.
	TrainImages, TrainLabels, TestImages, TestLabels string
}

// paths lists the files in the order of Spec.Files.
func (f Files) paths() []string {
	return []string{f.TrainImages, f.TrainLabels, f.TestImages, f.TestLabels}
}

// filePattern matches an IDX file name: a prefix, the split (t10k is MNIST's word
// for test), the kind, and the IDX suffix, gzipped or not.
var filePattern = regexp.MustCompile(`^(.*?)(train|t10k|test)-(images|labels)-idx([13])-ubyte(\.gz)?$`)

// FindFiles returns the IDX data sets in dir: for each prefix, the four files. A split's
// file may be called t10k-… or test-…; a plain file is preferred to name.gz.
func FindFiles(dir string) ([]Files, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	type key struct{ prefix, split, kind string }
	found := map[key]string{}
	var prefixes []string
	for _, e := range entries {
		m := filePattern.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() || (m[3] == "images") != (m[4] == "3") {
			continue
		}
		split := map[string]string{"train": "train", "t10k": "test", "test": "test"}[m[2]]
		k := key{m[1], split, m[3]}
		if old, ok := found[k]; ok && !strings.HasSuffix(old, ".gz") {
			continue // keep the plain file
		}
		found[k] = filepath.Join(dir, e.Name())
		if !slices.Contains(prefixes, m[1]) {
			prefixes = append(prefixes, m[1])
		}
	}
	slices.Sort(prefixes)
	var out []Files
	for _, p := range prefixes {
		f := Files{Dir: dir, Prefix: p, TrainImages: found[key{p, "train", "images"}], TrainLabels: found[key{p, "train", "labels"}],
			TestImages: found[key{p, "test", "images"}], TestLabels: found[key{p, "test", "labels"}]}
		if !slices.Contains(f.paths(), "") {
			out = append(out, f)
		}
	}
	return out, nil
}

// Select picks the data set of prefix among found (see FindFiles), or the only one when
// prefix is empty. The prefix may be given without its trailing "-" or "_".
func Select(found []Files, dir, prefix string) (Files, error) {
	var names []string
	for _, f := range found {
		if f.Prefix == prefix || f.Prefix == prefix+"-" || f.Prefix == prefix+"_" {
			return f, nil
		}
		names = append(names, quotePrefix(f.Prefix))
	}
	switch {
	case len(found) == 0:
		return Files{}, fmt.Errorf("dataset: %s holds no IDX data set: want the four files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (or test-…), each maybe .gz and after a common prefix", dir)
	case prefix == "" && len(found) == 1:
		return found[0], nil
	case prefix == "":
		return Files{}, fmt.Errorf("dataset: %s holds %d IDX data sets (prefixes %s): choose one with --prefix", dir, len(found), strings.Join(names, ", "))
	}
	return Files{}, fmt.Errorf("dataset: %s has no IDX data set with prefix %q (it has %s)", dir, prefix, strings.Join(names, ", "))
}

func quotePrefix(prefix string) string {
	if prefix == "" {
		return `"" (MNIST's names)`
	}
	return `"` + prefix + `"`
}

// Report is what Open found: each file as it is on disk, and notes worth telling the
// user about files it used as they are.
type Report struct {
	Files []FoundFile
	Notes []string
}

// MaxFileBytes bounds a user's IDX file (uncompressed payload): 8 GiB.
const MaxFileBytes = 8 << 30

// Open reads a user's data set: the four files of f, decoded and checked against each
// other (as many labels as images, the same image size in both splits). Images may be
// of any size, of unsigned or signed integers or floats; labels any integers from 0,
// whose largest value sets the number of classes. Float images are mapped to bytes
// from their range ([0, 1] or [0, 255], else their own minimum to maximum); images with
// NaN or infinite pixels are listed in the Set's NonFinite, their pixels set to 0.
// When all four files are a known data set's (by SHA-256), the sets carry its name and
// class names; otherwise they are named after the prefix or the directory, and notes
// say how they differ.
func Open(ctx context.Context, f Files) (train, test *Set, rep Report, err error) {
	paths := f.paths()
	arrays := make([]*idx.Array, 4)
	sums := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { arrays[i], sums[i], errs[i] = readAny(ctx, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, rep, err
	}
	for i, p := range paths {
		rep.Files = append(rep.Files, describe(p, arrays[i], sums[i]))
	}
	notes := &rep.Notes
	name, classes := f.Prefix, []string(nil)
	name = strings.TrimRight(name, "-_.")
	if name == "" {
		name = filepath.Base(f.Dir)
	}
	known := knownFiles(sums)
	for _, spec := range builtinSpecs() {
		if same := known[spec.Name]; len(same) == 4 {
			name, classes = spec.Name, spec.Classes
			*notes = append(*notes, fmt.Sprintf("the files in %s are %s's (their SHA-256 match)", f.Dir, spec.Name))
		} else if len(same) > 0 {
			var differ []string
			for i, p := range paths {
				if !slices.Contains(same, i) {
					differ = append(differ, filepath.Base(p))
				}
			}
			*notes = append(*notes, fmt.Sprintf("%s: %s differ from %s's: used as they are", f.Dir, strings.Join(differ, ", "), spec.Name))
		}
	}
	train, err = userSet(name, "train", arrays[0], arrays[1], paths[0], paths[1], notes)
	if err != nil {
		return nil, nil, rep, err
	}
	test, err = userSet(name, "test", arrays[2], arrays[3], paths[2], paths[3], notes)
	if err != nil {
		return nil, nil, rep, err
	}
	if train.Rows != test.Rows || train.Cols != test.Cols {
		return nil, nil, rep, fmt.Errorf("dataset: %s has %d×%d images, %s %d×%d", paths[0], train.Rows, train.Cols, paths[2], test.Rows, test.Cols)
	}
	K := 0
	for _, s := range []*Set{train, test} {
		for _, l := range s.Labels {
			K = max(K, int(l)+1)
		}
	}
	if classes == nil {
		if K < 2 {
			return nil, nil, rep, fmt.Errorf("dataset: %s: every label is %d: want at least two classes", paths[1], K-1)
		}
		for k := range K {
			classes = append(classes, fmt.Sprint(k))
		}
		if !slices.ContainsFunc(*notes, func(n string) bool { return strings.Contains(n, "SHA-256 match") }) {
			*notes = append(*notes, fmt.Sprintf("%s: a data set of its own (%d train, %d test images of %d×%d, %d classes)", f.Dir, train.N, test.N, train.Rows, train.Cols, K))
		}
	}
	train.Classes, test.Classes = classes, classes
	return train, test, rep, nil
}

// readAny decodes an IDX file (gzip or plain) of any size and returns its SHA-256 (of
// the uncompressed content).
func readAny(ctx context.Context, path string) (*idx.Array, string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("dataset: %w", err)
	}
	defer fh.Close()
	r, err := decompress(ctxReader{ctx, fh})
	if err != nil {
		return nil, "", fmt.Errorf("dataset: %s: %w", path, err)
	}
	h := newHasher()
	defer h.Close()
	a, err := idx.Decode(io.TeeReader(r, h), idx.Limits{MaxBytes: MaxFileBytes})
	if err != nil {
		if fe := (*idx.FormatError)(nil); errors.As(err, &fe) {
			fe.File = path
			return nil, "", err
		}
		return nil, "", fmt.Errorf("dataset: %s: %w", path, err)
	}
	return a, h.Sum(), nil
}

// knownFiles maps each built-in data set to the indices (in Spec.Files order) of the
// files whose hash is its file's.
func knownFiles(sums []string) map[string][]int {
	out := map[string][]int{}
	for _, spec := range builtinSpecs() {
		for i, f := range spec.Files() {
			if sums[i] == f.SHA256 {
				out[spec.Name] = append(out[spec.Name], i)
			}
		}
	}
	return out
}

func builtinSpecs() []*Spec {
	var out []*Spec
	for _, n := range Names() {
		s, _ := Lookup(n)
		out = append(out, s)
	}
	return out
}

// userSet makes a Set of a user's image and label arrays.
func userSet(name, split string, images, labels *idx.Array, imagesPath, labelsPath string, notes *[]string) (*Set, error) {
	d := images.Dims
	if len(d) == 4 && d[3] == 1 { // [N H W 1]: one channel
		d = d[:3]
	}
	if len(d) != 3 {
		return nil, fmt.Errorf("dataset: %s: images are %v %v, want [N H W] (one image of H×W pixels after another)", imagesPath, images.Type, images.Dims)
	}
	if len(labels.Dims) != 1 && !(len(labels.Dims) == 2 && labels.Dims[1] == 1) {
		return nil, fmt.Errorf("dataset: %s: labels are %v %v, want [N]", labelsPath, labels.Type, labels.Dims)
	}
	if n, m := d[0], labels.Dims[0]; n != m {
		return nil, fmt.Errorf("dataset: %s has %d images but %s has %d labels", imagesPath, n, labelsPath, m)
	}
	s := &Set{Name: name, Split: split, N: d[0], Rows: d[1], Cols: d[2]}
	var err error
	if s.Images, s.NonFinite, err = pixelBytes(images, imagesPath, d[1]*d[2], notes); err != nil {
		return nil, err
	}
	if s.Labels, err = labelBytes(labels, labelsPath); err != nil {
		return nil, err
	}
	return s, nil
}

// values decodes an array's elements (big-endian) as float64s.
func values(a *idx.Array) []float64 {
	n := a.Type.Size()
	out := make([]float64, len(a.Data)/n)
	for i := range out {
		b := a.Data[i*n : (i+1)*n]
		switch a.Type {
		case idx.Uint8:
			out[i] = float64(b[0])
		case idx.Int8:
			out[i] = float64(int8(b[0]))
		case idx.Int16:
			out[i] = float64(int16(binary.BigEndian.Uint16(b)))
		case idx.Int32:
			out[i] = float64(int32(binary.BigEndian.Uint32(b)))
		case idx.Float32:
			out[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		case idx.Float64:
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
	}
	return out
}

// pixelBytes maps images to bytes 0..255: uint8 as they are; other types from [0, 1]
// (×255) or [0, 255] (as they are), else from their minimum to their maximum, with a
// note. Images with a NaN or infinite pixel are returned in nonFinite (index order)
// with those pixels 0.
func pixelBytes(a *idx.Array, path string, size int, notes *[]string) (px []uint8, nonFinite []int, err error) {
	if a.Type == idx.Uint8 {
		return a.Data, nil, nil
	}
	v := values(a)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			if img := i / size; len(nonFinite) == 0 || nonFinite[len(nonFinite)-1] != img {
				nonFinite = append(nonFinite, img)
			}
			v[i] = 0
			continue
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	scale, offset := 1.0, 0.0
	switch {
	case lo >= 0 && hi <= 1:
		scale = 255
	case lo >= 0 && hi <= 255:
	case hi > lo:
		scale, offset = 255/(hi-lo), -lo*255/(hi-lo)
		*notes = append(*notes, fmt.Sprintf("%s: %v pixels range from %g to %g, not 0..1 or 0..255: mapped to 0..255 from that range", filepath.Base(path), a.Type, lo, hi))
	}
	px = make([]uint8, len(v))
	for i, x := range v {
		px[i] = uint8(math.Round(min(max(x*scale+offset, 0), 255)))
	}
	if len(nonFinite) > 0 {
		*notes = append(*notes, fmt.Sprintf("%s: %d images have NaN or infinite pixels (the first is image %d)", filepath.Base(path), len(nonFinite), nonFinite[0]))
	}
	return px, nonFinite, nil
}

// labelBytes checks labels are whole numbers 0..255 and returns them as bytes.
func labelBytes(a *idx.Array, path string) ([]uint8, error) {
	if a.Type == idx.Uint8 {
		return a.Data, nil
	}
	v := values(a)
	out := make([]uint8, len(v))
	for i, x := range v {
		if x != math.Trunc(x) || x < 0 || x > 255 {
			return nil, fmt.Errorf("dataset: %s: label %d is %g, want a whole number from 0 to 255", path, i, x)
		}
		out[i] = uint8(x)
	}
	return out, nil
}

// describe is one decoded file as it is on disk.
func describe(path string, a *idx.Array, sum string) FoundFile {
	ff := FoundFile{Path: path, Type: a.Type.String(), Dims: a.Dims, SHA256: sum}
	if st, err := os.Stat(path); err == nil {
		ff.DiskSize = st.Size()
	}
	for _, spec := range builtinSpecs() {
		for _, sf := range spec.Files() {
			if sf.SHA256 == sum {
				ff.Matches = spec.Name + " " + sf.Name
			}
		}
	}
	return ff
}

// FoundFile is one file of a user's data set as it is on disk.
type FoundFile struct {
	Path     string
	DiskSize int64
	Type     string // element type, e.g. "uint8"
	Dims     []int
	SHA256   string // of the uncompressed content
	Matches  string // the known data set's file with this content, e.g. "mnist train-images-idx3-ubyte"; "" for none
}
