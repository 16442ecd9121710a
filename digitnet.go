// Package digitnet recognises handwritten digits (or whatever classes a model was
// trained on) with a model that `digitnet train` or package recipe saved:
//
//	m, err := digitnet.Open("model.safetensors")
//	f, _ := os.Open("photo.jpg")
//	img, err := digitnet.DecodeImage(f) // upright by its EXIF orientation, size-checked
//	p, err := m.PredictImage(img)      // p.Digit, p.Confidence, p.Probs
//
// A Model is safe for concurrent use: each prediction borrows a copy of the network that
// shares its weights. Errors wrap sentinels a caller can test with errors.Is:
// ErrFormat for a file that is not a valid model, ErrInput for pixels the model cannot
// take, and the image errors (ErrImageFormat, ErrCorruptImage, ErrImageTooLarge,
// ErrEmptyImage) for a picture that cannot be read at all. A picture that can be read
// but holds no single digit (a blank page, two digits, a scribble) is not an error: its
// Prediction has Digit -1 and a Reason.
//
// Training from Go goes through the packages below this one: nn (architectures and
// layers), optim (optimizers and learning-rate schedules), train (the loop), dataset
// (MNIST, Fashion-MNIST, a user's IDX files and image folders), augment, and recipe,
// which ties them together as `digitnet train` does.
package digitnet

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/pretrained"
	"github.com/digitnet/digitnet/nn"
)

// Errors a caller can test with errors.Is. The image errors are those of the picture
// PredictImage is given.
var (
	// ErrFormat: the file or bytes are not a valid digitnet model.
	ErrFormat = model.ErrFormat
	// ErrInput: pixels of the wrong number, or values outside [0, 1].
	ErrInput = errors.New("digitnet: bad input")

	ErrImageFormat   = digit.ErrFormat   // not a PNG, JPEG or GIF
	ErrCorruptImage  = digit.ErrCorrupt  // a PNG, JPEG or GIF that does not decode
	ErrImageTooLarge = digit.ErrTooLarge // more pixels than digitnet decodes
	ErrEmptyImage    = digit.ErrEmpty    // an image of no pixels
	ErrNoInk         = digit.ErrNoInk    // a blank page (PredictImage answers ReasonNoInk instead)
)

// Model is a trained classifier with what it needs to be used: its architecture and
// weights, input scaling and class names. It is immutable, and safe for concurrent use
// by multiple goroutines. A model opened from several files is an ensemble: its
// probabilities are the mean of the members'.
type Model struct {
	ens   *model.Ensemble
	floor float64 // MinConfidence
	mu    sync.Mutex
	free  []*model.Ensemble // replicas not in use
}

// Reasons a Prediction gives instead of a digit.
const (
	ReasonNoInk   = model.ReasonNoInk   // "no ink": a blank page, nothing written
	ReasonSeveral = model.ReasonSeveral // "more than one digit": ink in groups side by side
	ReasonUnsure  = model.ReasonUnsure  // "low confidence": the best guess is below MinConfidence
)

func newModel(ens *model.Ensemble) *Model { return &Model{ens: ens, floor: ens.MinConfidence()} }

// MinConfidence is the calibrated probability below which the model withholds its
// answer (ReasonUnsure): the floor fitted with its calibration (`digitnet train
// --val`), 0 for a model without one.
func (m *Model) MinConfidence() float64 { return m.floor }

// Uncalibrated returns the model without its calibration: the networks' own
// probabilities and no confidence floor (to compare, or to see the raw outputs).
func (m *Model) Uncalibrated() *Model {
	ens := *m.ens
	ens.Models = nil
	for _, mm := range m.ens.Models {
		c := *mm
		c.Calibration = nil
		ens.Models = append(ens.Models, &c)
	}
	return &Model{ens: &ens}
}

// WithWeights returns the ensemble with its members' probabilities weighed by w in
// the average (one weight per member, in the order they were opened; ≥ 0, not all 0).
// Its confidence floor stays as it was: one fitted to other weights may not suit.
func (m *Model) WithWeights(w ...float64) (*Model, error) {
	ens := *m.ens
	if err := ens.SetWeights(w); err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return &Model{ens: &ens, floor: m.floor}, nil
}

// WithMinConfidence returns the model with another confidence floor (0 always answers).
func (m *Model) WithMinConfidence(floor float64) *Model {
	return &Model{ens: m.ens, floor: floor}
}

// Quantized returns the model with the products of its dense layers and convolutions in
// int8 (weights per output channel, each layer's input per tensor with a range fitted
// on the calibration images): faster batch inference at an accuracy within a tenth of
// a point of the float32 model's on MNIST (BENCHMARKS.md). calibration is n images of
// InputSize pixel bytes (0 background), some hundreds of the model's training images,
// such as the first of dataset.Load's training set. It
// returns an error, and m is unchanged, where int8 cannot run: a CPU without AVX-512
// VNNI, no oneDNN (Debian's libdnnl2), or the pure-Go build.
func (m *Model) Quantized(calibration []uint8) (*Model, error) {
	if err := kernels.Int8(); err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	d := m.InputSize()
	if len(calibration) < d || len(calibration)%d != 0 {
		return nil, fmt.Errorf("digitnet: %d bytes of calibration images, want a whole number of images of %d pixels", len(calibration), d)
	}
	ens, err := m.ens.Quantized(calibration, len(calibration)/d)
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return &Model{ens: ens, floor: m.floor}, nil
}

// Prediction is a model's answer for one image. When the model will not say (a blank
// page, two digits, a scribble it is unsure of), Digit is -1, Label "" and Reason says
// why; Guess, Confidence and Probs still hold what the network thought, if it ran.
type Prediction struct {
	Digit      int       // the class with the highest probability (the digit, for a digit model), or -1
	Label      string    // its name: "7" for a digit model, "Sneaker" for Fashion-MNIST
	Reason     string    // why Digit is -1: ReasonNoInk, ReasonSeveral or ReasonUnsure; "" when answered
	Guess      int       // the class with the highest probability, answered or not (-1 when the network did not run)
	Confidence float64   // its probability (calibrated, when the model is)
	Probs      []float64 // every class's probability, summing to 1
	// Input is what the network saw, for PredictImage: the 28×28 image the picture was
	// made into, row-major, 0 background to 255 ink.
	Input []uint8
}

// Open reads a model file written by `digitnet train --out` (any architecture; a
// checkpoint too). Several files, as in OpenEnsemble, average their probabilities.
func Open(path string) (*Model, error) { return OpenEnsemble(path) }

// OpenEnsemble reads model files that share their classes and input size, into one
// model whose probabilities are the mean of theirs.
func OpenEnsemble(paths ...string) (*Model, error) {
	if len(paths) == 0 {
		return nil, errors.New("digitnet: no model files")
	}
	ens, err := model.LoadEnsemble(paths)
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return newModel(ens), nil
}

// Default is the model digitnet ships, embedded in the package: an ensemble of four
// CNNs trained by scripts/pretrain on MNIST, on digits of UNIPEN's pen-recorded writers
// and on handwriting-font digits, with calibrated probabilities (see internal/pretrained/record.json for its figures).
// Each call returns a new Model; the weights are decoded once.
func Default() (*Model, error) {
	ens, err := pretrained.Ensemble()
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return newModel(ens), nil
}

// Read reads a model from r, as Open reads it from a file.
func Read(r io.Reader) (*Model, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(r, model.MaxFileSize+1)); err != nil {
		return nil, fmt.Errorf("digitnet: reading a model: %w", err)
	}
	if buf.Len() > model.MaxFileSize {
		return nil, fmt.Errorf("digitnet: %w: larger than any digitnet model (%d bytes)", ErrFormat, model.MaxFileSize)
	}
	m, err := model.Decode(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w: %v", ErrFormat, err)
	}
	ens, err := model.NewEnsemble([]*model.Model{m}, []string{"model"})
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return newModel(ens), nil
}

// replica borrows a copy of the networks for one caller; release gives it back.
func (m *Model) replica() (*model.Ensemble, error) {
	m.mu.Lock()
	if n := len(m.free); n > 0 {
		r := m.free[n-1]
		m.free = m.free[:n-1]
		m.mu.Unlock()
		return r, nil
	}
	m.mu.Unlock()
	return m.ens.Replica()
}

func (m *Model) release(r *model.Ensemble) {
	m.mu.Lock()
	m.free = append(m.free, r)
	m.mu.Unlock()
}

// InputSize is the number of values Predict takes: 784 for a 28×28 image.
func (m *Model) InputSize() int { return m.ens.Models[0].Arch.InputSize() }

// Classes are the names of the classes, in the order of Prediction.Probs.
func (m *Model) Classes() []string { return slices.Clone(m.ens.Classes()) }

// Predict classifies one input: InputSize values in [0, 1], row-major, 0 the background
// and 1 the ink (MNIST's polarity: a white digit on black), as an MNIST byte divided by
// 255. The model maps them to its network's inputs with its own scaling.
func (m *Model) Predict(pixels []float32) (Prediction, error) {
	if len(pixels) != m.InputSize() {
		return Prediction{}, fmt.Errorf("%w: %d values, the model takes %d", ErrInput, len(pixels), m.InputSize())
	}
	for i, v := range pixels {
		if !(v >= 0 && v <= 1) { // NaN fails too
			return Prediction{}, fmt.Errorf("%w: value %d is %g, want 0..1", ErrInput, i, v)
		}
	}
	r, err := m.replica()
	if err != nil {
		return Prediction{}, err
	}
	defer m.release(r)
	if !slices.ContainsFunc(pixels, func(v float32) bool { return v > 0.1 }) {
		return Prediction{Digit: -1, Guess: -1, Reason: ReasonNoInk}, nil
	}
	return m.prediction(r.PredictUnit(pixels, 1).Data, r, 0), nil
}

// PredictImage classifies a user's photo or drawing as `digitnet predict` does: the
// image is turned into an MNIST-like 28×28 input (the ink found whatever its polarity
// and the paper's light, cropped, scaled into a 20×20 box and centred by its mass).
func (m *Model) PredictImage(img image.Image) (Prediction, error) {
	if m.InputSize() != digit.Size*digit.Size {
		return Prediction{}, fmt.Errorf("%w: the model takes %d inputs, not a %d×%d image", ErrInput, m.InputSize(), digit.Size, digit.Size)
	}
	in, err := digit.Analyze(img)
	if errors.Is(err, digit.ErrNoInk) {
		return Prediction{Digit: -1, Guess: -1, Reason: ReasonNoInk}, nil
	}
	if err != nil {
		return Prediction{}, fmt.Errorf("digitnet: %w", err)
	}
	r, err := m.replica()
	if err != nil {
		return Prediction{}, err
	}
	defer m.release(r)
	p := m.prediction(r.Predict(in.Pixels, 1).Data, r, in.Parts)
	p.Input = in.Pixels
	return p, nil
}

// prediction makes a Prediction of one row of probabilities (one value for a binary
// model with a single sigmoid output: the second class's probability).
func (m *Model) prediction(probs []float32, r *model.Ensemble, parts int) Prediction {
	classes := m.ens.Classes()
	p := Prediction{Probs: make([]float64, len(classes))}
	if len(probs) == 1 {
		p.Probs[0], p.Probs[1] = 1-float64(probs[0]), float64(probs[0])
	} else {
		for k, v := range probs {
			p.Probs[k] = float64(v)
		}
	}
	p.Guess = r.Class(probs)
	p.Confidence = p.Probs[p.Guess]
	if p.Reason = model.Withhold(p.Confidence, parts, m.floor); p.Reason != "" {
		p.Digit = -1
	} else {
		p.Digit, p.Label = p.Guess, classes[p.Guess]
	}
	return p
}

// Guess is a class and its probability.
type Guess struct {
	Class       int
	Label       string
	Probability float64
}

// Top is the k most probable classes, the most probable first (ties by class).
func (p Prediction) Top(k int, classes []string) []Guess {
	order := make([]int, len(p.Probs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p.Probs[b], p.Probs[a]) })
	var out []Guess
	for _, c := range order[:max(0, min(k, len(order)))] {
		g := Guess{Class: c, Probability: p.Probs[c]}
		if c < len(classes) {
			g.Label = classes[c]
		}
		out = append(out, g)
	}
	return out
}

// Info describes a model: what it was trained as, on what, how well.
type Info struct {
	Files        []string  // the files it was read from (an ensemble's members)
	Weights      []float64 // the members' weights in the average, in Files' order; nil: equal
	Architecture nn.Spec   // the first member's
	Parameters   int       // over all members
	Dataset      string
	Classes      []string
	// The first member's training summary.
	Epochs                      int
	Seed                        uint64
	TrainAccuracy, TestAccuracy float64
	Trained                     string // when, RFC 3339
	Optimizer                   string
}

// Info describes the model.
func (m *Model) Info() Info {
	first := m.ens.Models[0]
	t := first.Training
	arch := first.Arch // a copy the caller may change: the model's own stays as it is
	arch.Input, arch.Layers = slices.Clone(arch.Input), slices.Clone(arch.Layers)
	return Info{Files: slices.Clone(m.ens.Names), Weights: slices.Clone(m.ens.Weights), Architecture: arch, Parameters: m.ens.Parameters(),
		Dataset: first.Dataset, Classes: m.Classes(), Epochs: t.Epochs, Seed: t.Seed,
		TrainAccuracy: t.TrainAccuracy, TestAccuracy: t.TestAccuracy, Trained: t.Date, Optimizer: t.Optimizer}
}

// String names the model: its files and architecture.
func (m *Model) String() string {
	return strings.Join(m.ens.Names, ",") + " (" + m.ens.Models[0].Net.String() + ")"
}

// Meta is what a model records beside its network.
type Meta struct {
	// Classes name the network's outputs, in order (default "0", "1", …).
	Classes []string
	// Scale and Offset map a pixel byte v (0 background … 255 ink) to the network's
	// input: Scale·v + Offset. A network trained on pixels in [0, 1] has 1/255 and 0.
	Scale, Offset float32
	// Dataset names what it was trained on, e.g. "mnist".
	Dataset string
}

// New makes a Model of a trained network built by nn.Spec.Build; the Model keeps a copy
// of its weights, so training may go on.
func New(net *nn.Network, meta Meta) (*Model, error) {
	spec, ok := net.Spec()
	if !ok {
		return nil, errors.New("digitnet: New: the network was not built from a spec (nn.Spec.Build)")
	}
	if meta.Classes == nil {
		for k := range max(spec.Outputs(), 2) {
			meta.Classes = append(meta.Classes, fmt.Sprint(k))
		}
	}
	if len(meta.Classes) != max(spec.Outputs(), 2) {
		return nil, fmt.Errorf("digitnet: New: %d class names for %d outputs", len(meta.Classes), spec.Outputs())
	}
	if meta.Scale == 0 {
		return nil, errors.New("digitnet: New: Meta.Scale is 0: every input would be Offset")
	}
	copied, err := spec.Build(rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("digitnet: New: %w", err)
	}
	src, dst := net.State(), copied.State()
	for i := range dst {
		copy(dst[i].Value.Data, src[i].Value.Data)
	}
	m := &model.Model{Arch: spec, Net: copied, Input: model.Input{Scale: meta.Scale, Offset: meta.Offset},
		Dataset: meta.Dataset, Classes: slices.Clone(meta.Classes), Training: model.Summary{Date: time.Now().UTC().Format(time.RFC3339)}}
	ens, err := model.NewEnsemble([]*model.Model{m}, []string{"model"})
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return newModel(ens), nil
}

// Save writes the model to path atomically, as `digitnet train --out` does (a
// safetensors file with the architecture, input scaling and class names in its
// metadata). An ensemble has no single file to write: Save it member by member.
func (m *Model) Save(path string) error {
	if len(m.ens.Models) != 1 {
		return fmt.Errorf("digitnet: an ensemble of %d models has no single file", len(m.ens.Models))
	}
	return model.Save(path, m.ens.Models[0])
}

// Write writes the model to w, as Save writes it to a file.
func (m *Model) Write(w io.Writer) error {
	if len(m.ens.Models) != 1 {
		return fmt.Errorf("digitnet: an ensemble of %d models has no single file", len(m.ens.Models))
	}
	return model.Write(w, m.ens.Models[0])
}

// DecodeImage reads a PNG, JPEG or GIF picture from r safely: at most 32 MiB, and no more
// than 40 megapixels, checked on the image's header before any pixel is decoded (a small
// file claiming a huge image is refused without allocating it). Its errors are the
// image errors above, wrapped with what was found.
func DecodeImage(r io.Reader) (image.Image, error) {
	img, err := digit.Decode(r, digit.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("digitnet: %w", err)
	}
	return img, nil
}

// Reading is what ReadNumber read in an image: a row of digits, left to right. Text
// is the digits, "?" for each the model is unsure of, "" when there are none (Reason
// says why); Confidence is the product of the digits' confidences.
type Reading = model.Reading

// DigitReading is one digit of a Reading: the most probable class (even when Unsure,
// below the model's floor), its probability, its box in the image and the 28×28
// input the network saw.
type DigitReading = model.DigitReading

// ReadNumber reads a row of handwritten digits in img (a meter reading, a postcode, a
// score on a sheet): it finds the digits (the ink found as PredictImage finds it,
// specks and lines dropped, broken digits joined, touching ones cut where the model
// reads the pieces best), classifies each and orders them left to right. An image
// with nothing written gives a Reading with Reason ReasonNoInk.
func (m *Model) ReadNumber(img image.Image) (Reading, error) {
	if m.InputSize() != digit.Size*digit.Size {
		return Reading{}, fmt.Errorf("%w: the model takes %d inputs, not a %d×%d image", ErrInput, m.InputSize(), digit.Size, digit.Size)
	}
	r, err := m.replica()
	if err != nil {
		return Reading{}, err
	}
	defer m.release(r)
	rd, err := r.ReadNumber(img, m.floor)
	if err != nil {
		return Reading{}, fmt.Errorf("digitnet: %w", err)
	}
	return rd, nil
}
