// Package recipe trains a network from a recipe: the settings that define a run (the
// architecture, the optimizer and its schedule, the data, its scaling and augmentation,
// the seed). `digitnet train` is a recipe made from flags; a Go program makes one from a
// preset and changes what it wants:
//
//	r := recipe.Default()            // 784-300-10 ReLU, Adam, 4 epochs
//	r.Epochs = 2
//	run, err := recipe.New(r)
//	res, err := run.Train(ctx, trainSet, testSet, recipe.Options{})
//	err = run.Save("model.safetensors", trainSet.Classes, res)
//
// The same recipe and seed give the same run, bit for bit; a run checkpointed with
// Options.Checkpoint resumes (Resume) to the same weights and history.
package recipe

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// Recipe is everything that defines a training run. Its JSON form is stored in
// checkpoints (the keys are a file format: never rename them); each key is also the
// name of a `digitnet train` flag, with "_" written "-".
type Recipe struct {
	Preset     string  `json:"preset"`     // the preset it started from (Presets)
	Layers     []int   `json:"layers"`     // an MLP's layer sizes, input first
	Activation string  `json:"activation"` // an MLP's hidden activation
	Output     string  `json:"output"`     // output function: softmax, sigmoid, linear
	Loss       string  `json:"loss"`       // ce, bce, mse
	Init       string  `json:"init"`       // weight initialization (nn.Inits)
	Optimizer  string  `json:"optimizer"`  // optim.Names
	LR         float64 `json:"lr"`         // base learning rate
	Batch      int     `json:"batch"`      // mini-batch size; 1 is per-example SGD
	Epochs     int     `json:"epochs"`
	Seed       uint64  `json:"seed"`
	Dataset    string  `json:"dataset"`     // mnist, fashion, or folders (class folders)
	TrainLimit int     `json:"train_limit"` // the first N training images only; 0: all
	TestLimit  int     `json:"test_limit"`  // the first N test images only; 0: all
	Input      string  `json:"input"`       // pixel scaling: raw, unit, standard
	Shuffle    bool    `json:"shuffle"`     // reshuffle the training set every epoch
	Schedule   string  `json:"schedule"`    // optim.Schedules
	Warmup     int     `json:"warmup,omitempty"`
	TrainEval  string  `json:"train_eval"` // full or running
	Decay      float64 `json:"weight_decay,omitempty"`
	Smoothing  float64 `json:"label_smoothing,omitempty"`
	Val        int     `json:"val,omitempty"`      // validation examples held out of training
	Patience   int     `json:"patience,omitempty"` // early stopping, with Val
	// KeepLast, with Val, keeps the last epoch's weights rather than the best
	// validation epoch's: the split still fits the calibration.
	KeepLast bool   `json:"keep_last,omitempty"`
	Augment  string `json:"augment,omitempty"` // augment.Presets
	// Extra names class-folder directories (comma-separated) whose training images are
	// spread among the data set's: digits drawn in other hands, fonts or pens.
	Extra string `json:"extra,omitempty"`
	// Outliers names class-folder directories (comma-separated) of pictures that are
	// none of the classes (letters, symbols, two digits in one box): they are trained
	// towards a uniform answer (nn.Outlier, outlier exposure) so that the model is unsure
	// of such pictures instead of confidently wrong. Options.Outliers carries them.
	Outliers string `json:"outliers,omitempty"`
	// OutlierWeight is an outlier's weight in the loss against a labelled picture's
	// (0: 1).
	OutlierWeight float64 `json:"outlier_weight,omitempty"`
	Model         string  `json:"model"`          // mlp (from Layers), or one of nn.Builtins
	ArchFile      string  `json:"arch,omitempty"` // where ArchSpec was read from
	// ArchSpec, when set, is the architecture, overriding Model and Layers.
	ArchSpec *nn.Spec `json:"arch_spec,omitempty"`

	// The data's shape when it is not MNIST's (Fit): [H W] images and the number of
	// classes; a built-in architecture adapts its input and output to them.
	Image   []int `json:"image,omitempty"`
	Classes int   `json:"classes,omitempty"`
	// PixelMean and PixelStd are the training pixels' statistics (of byte/255) that
	// input "standard" uses for a data set whose own are not recorded (Fit).
	PixelMean float64 `json:"pixel_mean,omitempty"`
	PixelStd  float64 `json:"pixel_std,omitempty"`

	// Data fixes (Prepare), the settings diagnose suggests for faulty data.
	// Clean drops images: "nonfinite" (NaN or infinite pixels, from both sets),
	// "empty" (blank or near-blank training images), "duplicates" (training images
	// that repeat an earlier one); comma-separated.
	Clean string `json:"clean,omitempty"`
	// LabelShift k pairs training image i with label i+k: labels that are off by k
	// from their images (a header skipped wrongly, say).
	LabelShift int `json:"label_shift,omitempty"`
	// TestLabelMap maps test labels to the training set's classes, "from:to,…": test
	// labels encoded differently from the training labels.
	TestLabelMap string `json:"test_label_map,omitempty"`
	// Balance "oversample" repeats the rarer classes' training images until every class
	// has as many as the most common one.
	Balance string `json:"balance,omitempty"`
	// InvertTest inverts the test images (255 - v): ink and paper swapped between sets.
	InvertTest bool `json:"invert_test,omitempty"`

	// How the products run. They change a run's rounding and speed, not what it learns,
	// but the same run with another of them is not the same bit for bit, so a checkpoint
	// keeps them and a resumed run goes on with them.
	// Checkpoints written before these keys existed (state version 3 and older) have
	// them empty, as a Recipe written without Default may: Run.FillProducts sets them
	// (`digitnet train --resume` from its flags, as it did before).
	// Conv is the convolutions' algorithm (nn.ParseConvAlgorithm; "": auto).
	Conv string `json:"conv,omitempty"`
	// Precision is the training products' precision: fp32, or bf16 (mixed precision,
	// where the CPU has the instructions; Run.Precision says whether it does); "": fp32.
	Precision string `json:"precision,omitempty"`
}

// Presets names the presets Preset makes.
var Presets = []string{"default", "seed", "fixed"}

// presets are the named starting points. Each sets the fields listed in presetKeys;
// the rest come from Default.
var presets = map[string]Recipe{
	// The seed: a hand-written 784-300-10 sigmoid network on raw pixels, randn init,
	// binary cross-entropy gradient (delta3 = x3 - y), per-example SGD, file order.
	"seed": {Layers: []int{784, 300, 10}, Activation: "sigmoid", Output: "sigmoid", Loss: "bce",
		Init: "normal", Optimizer: "sgd", LR: 0.01, Batch: 1, Epochs: 20, Input: "raw", Shuffle: false, Schedule: "constant"},
	// The same network with the fixes: scaled pixels, Glorot init, softmax with
	// cross-entropy, shuffled mini-batch SGD with a tuned rate and momentum.
	"fixed": {Layers: []int{784, 300, 10}, Activation: "sigmoid", Output: "softmax", Loss: "ce",
		Init: "glorot-uniform", Optimizer: "momentum", LR: 0.1, Batch: 32, Epochs: 20, Input: "unit", Shuffle: true, Schedule: "cosine"},
	// The default: a ReLU MLP trained with Adam that passes 98 % test accuracy quickly.
	"default": {Layers: []int{784, 300, 10}, Activation: "relu", Output: "softmax", Loss: "ce",
		Init: "he-normal", Optimizer: "adam", LR: 4e-3, Batch: 128, Epochs: 4, Input: "unit", Shuffle: true, Schedule: "cosine"},
}

// presetKeys are the settings a preset decides.
var presetKeys = []string{"layers", "activation", "output", "loss", "init", "optimizer", "lr", "batch", "epochs", "input", "shuffle", "schedule"}

// modelRecipes are the settings a built-in architecture brings under the default preset:
// `--model cnn` is the measured recipe that reaches 99.5 % in under 2 minutes.
var modelRecipes = map[string]Recipe{
	"cnn": {Epochs: 15, Augment: "affine"},
}

// Default is the default preset with every other setting at its default.
func Default() Recipe {
	r, _ := Preset("default")
	return r
}

// Preset is the named preset (one of Presets) with every other setting at its default.
func Preset(name string) (Recipe, error) {
	p, ok := presets[name]
	if !ok {
		return Recipe{}, &FieldError{Key: "preset", Value: strconv.Quote(name), Want: "one of " + strings.Join(Presets, ", ")}
	}
	p.Preset = name
	p.Layers = slices.Clone(p.Layers)
	p.Seed, p.Dataset, p.TrainEval, p.Augment, p.Model, p.Warmup = 1, "mnist", "full", "none", "mlp", 2
	p.Conv, p.Precision = "auto", "fp32"
	return p, nil
}

// ApplyPreset sets the fields r.Preset decides to the preset's values, but those whose
// key keep reports (settings the user gave). Under the default preset, a built-in
// architecture's own recipe (Model "cnn": 15 epochs, affine augmentation) comes too.
func (r *Recipe) ApplyPreset(keep func(key string) bool) error {
	p, err := Preset(r.Preset)
	if err != nil {
		return err
	}
	if m, ok := modelRecipes[r.Model]; ok && r.Preset == "default" && r.ArchFile == "" && r.ArchSpec == nil {
		p.Epochs, p.Augment = m.Epochs, m.Augment
	}
	for _, k := range append(slices.Clone(presetKeys), "augment") {
		if keep(k) {
			continue
		}
		switch k {
		case "layers":
			r.Layers = slices.Clone(p.Layers)
		case "activation":
			r.Activation = p.Activation
		case "output":
			r.Output = p.Output
		case "loss":
			r.Loss = p.Loss
		case "init":
			r.Init = p.Init
		case "optimizer":
			r.Optimizer = p.Optimizer
		case "lr":
			r.LR = p.LR
		case "batch":
			r.Batch = p.Batch
		case "epochs":
			r.Epochs = p.Epochs
		case "input":
			r.Input = p.Input
		case "shuffle":
			r.Shuffle = p.Shuffle
		case "schedule":
			r.Schedule = p.Schedule
		case "augment":
			if _, ok := modelRecipes[r.Model]; ok && r.Preset == "default" && r.ArchFile == "" && r.ArchSpec == nil {
				r.Augment = p.Augment
			}
		}
	}
	return r.Validate()
}

// FieldError is a setting with a value it cannot take. Key is the setting's JSON key (a
// command line names its flag after it).
type FieldError struct {
	Key   string
	Value any
	Want  string // what it should be
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("recipe: %s %v: want %s", e.Key, e.Value, e.Want)
}

// ErrInvalid is wrapped by every error Validate returns that is not a FieldError: a
// combination of settings that does not fit together.
var ErrInvalid = errors.New("recipe: invalid")

// Inputs describes the input scalings, byte value v to network input.
var Inputs = map[string]string{
	"raw":      "v (0..255, as the seed did)",
	"unit":     "v/255 (0..1)",
	"standard": "(v/255 - mean)/deviation of the data set's training pixels (MNIST 0.1307, 0.3081; Fashion-MNIST 0.2860, 0.3530)",
}

// Validate checks every setting and that they fit together. A bad value is a
// *FieldError; an architecture or optimizer that cannot be built says why.
func (r *Recipe) Validate() error {
	bad := func(key string, v any, want string) error { return &FieldError{Key: key, Value: v, Want: want} }
	if _, ok := presets[r.Preset]; !ok {
		return bad("preset", strconv.Quote(r.Preset), "one of "+strings.Join(Presets, ", "))
	}
	if r.Model != "mlp" && !slices.Contains(nn.Builtins, r.Model) {
		return bad("model", strconv.Quote(r.Model), "mlp, "+strings.Join(nn.Builtins[:len(nn.Builtins)-1], ", ")+" or "+nn.Builtins[len(nn.Builtins)-1])
	}
	if r.ArchSpec == nil && r.Model == "mlp" {
		if err := r.MLP().Validate(); err != nil { // names the settings' allowed values
			return err
		}
	}
	if err := r.Spec().Validate(); err != nil {
		return err
	}
	if _, err := optim.NewDecay(r.Optimizer, r.LR, r.Decay); err != nil {
		return err
	}
	switch {
	case r.Batch < 1:
		return bad("batch", r.Batch, "at least 1")
	case r.Epochs < 1:
		return bad("epochs", r.Epochs, "at least 1")
	case r.TrainLimit < 0:
		return bad("train_limit", r.TrainLimit, "0 (all) or positive")
	case r.TestLimit < 0:
		return bad("test_limit", r.TestLimit, "0 (all) or positive")
	case r.Dataset == "":
		return bad("dataset", `""`, "a data set's name: "+strings.Join(dataset.Names(), ", ")+", or a user's")
	case Inputs[r.Input] == "":
		return bad("input", strconv.Quote(r.Input), "raw, unit or standard")
	case !slices.Contains(optim.Schedules, r.Schedule):
		return bad("schedule", strconv.Quote(r.Schedule), "one of "+strings.Join(optim.Schedules, ", "))
	case r.Val < 0:
		return bad("val", r.Val, "0 or positive")
	case r.Patience < 0:
		return bad("patience", r.Patience, "0 or positive")
	case r.Warmup < 0:
		return bad("warmup", r.Warmup, "0 or positive")
	case !slices.Contains(augment.Presets, r.Augment):
		return bad("augment", strconv.Quote(r.Augment), strings.Join(augment.Presets[:len(augment.Presets)-1], ", ")+" or "+augment.Presets[len(augment.Presets)-1])
	case r.KeepLast && r.Val == 0:
		return bad("keep_last", true, "a validation set whose best epoch it overrides: val > 0")
	case r.Patience > 0 && r.Val == 0:
		return bad("patience", r.Patience, "a validation set to watch: val > 0")
	case r.TrainEval != "full" && r.TrainEval != "running":
		return bad("train_eval", strconv.Quote(r.TrainEval), "full or running")
	case r.Balance != "" && r.Balance != "none" && r.Balance != "oversample":
		return bad("balance", strconv.Quote(r.Balance), "none or oversample")
	case r.Classes == 1 || r.Classes < 0:
		return bad("classes", r.Classes, "at least 2")
	case !slices.Contains(nn.ConvAlgorithms(), r.Conv) && r.Conv != "":
		algos := nn.ConvAlgorithms()
		return bad("conv", strconv.Quote(r.Conv), strings.Join(algos[:len(algos)-1], ", ")+" or "+algos[len(algos)-1])
	case r.Precision != "" && r.Precision != "fp32" && r.Precision != "bf16":
		return bad("precision", strconv.Quote(r.Precision), "fp32 or bf16")
	case r.OutlierWeight < 0:
		return bad("outlier_weight", r.OutlierWeight, "0 or positive")
	case r.Outliers != "" && (r.Spec().Output != "softmax" || r.Spec().Loss != "ce"):
		return bad("outliers", strconv.Quote(r.Outliers), "a softmax output with the ce loss, which trains outliers towards a uniform answer")
	}
	for _, c := range r.cleaning() {
		if !slices.Contains(Cleanings, c) {
			return bad("clean", strconv.Quote(r.Clean), "a comma-separated list of "+strings.Join(Cleanings, ", "))
		}
	}
	if _, err := r.testLabelMap(); err != nil {
		return err
	}
	return nil
}

// Spec is the architecture the recipe describes.
func (r *Recipe) Spec() nn.Spec {
	if r.ArchSpec != nil {
		s := *r.ArchSpec
		if r.Smoothing > 0 { // the setting overrides the file's label_smoothing
			s.LabelSmoothing = r.Smoothing
		}
		return s
	}
	var s nn.Spec
	if b, err := nn.Builtin(r.Model, r.Output, r.Loss, nn.Init(r.Init)); err == nil {
		s = b
		if len(r.Image) == 2 {
			s.Input = []int{1, r.Image[0], r.Image[1]}
		}
		if r.Classes > 0 {
			s.Layers[len(s.Layers)-1].Out = r.Classes
		}
	} else {
		s = r.MLP().Spec()
	}
	s.LabelSmoothing = r.Smoothing
	return s
}

// MLP is the multilayer perceptron Layers, Activation, Output, Loss and Init describe
// (the architecture when Model is "mlp").
func (r *Recipe) MLP() nn.MLP {
	return nn.MLP{Sizes: r.Layers, Activation: r.Activation, Output: r.Output, Loss: r.Loss, Init: nn.Init(r.Init)}
}

// Scaling is the affine map from a pixel byte to a network input: input = scale·byte +
// offset.
func (r *Recipe) Scaling() (scale, offset float32) {
	switch r.Input {
	case "raw":
		return 1, 0
	case "standard":
		mean, std := r.PixelMean, r.PixelStd
		if spec, err := dataset.Lookup(r.Dataset); err == nil {
			mean, std = spec.Mean, spec.Std
		} else if std == 0 { // class folders: MNIST's, as they hold MNIST-like digits
			spec, _ = dataset.Lookup("mnist")
			mean, std = spec.Mean, spec.Std
		}
		return float32(1 / (255 * std)), float32(-mean / std)
	}
	return 1.0 / 255, 0
}

// LRSchedule is the per-epoch learning rate, nil for a constant one.
func (r *Recipe) LRSchedule() optim.Schedule {
	s, _ := optim.NewSchedule(r.Schedule, r.LR, r.Epochs, r.Warmup) // validated
	return s
}

// Augmentation is the distortion applied to training images on the fly.
func (r *Recipe) Augmentation() augment.Config {
	c, _ := augment.Preset(r.Augment) // validated
	return c
}

// Data is a data set as the network sees it: its pixels with the recipe's scaling.
func (r *Recipe) Data(s *dataset.Set) *train.Bytes {
	scale, offset := r.Scaling()
	return &train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: r.Spec().Input, Scale: scale, Offset: offset}
}

// CheckData reports a network that does not fit the data: its input size against the
// images' pixels, its outputs against the classes (a single output serves two).
func (r *Recipe) CheckData(s *dataset.Set) error {
	spec := r.Spec()
	if in := spec.InputSize(); in != s.Rows*s.Cols {
		return fmt.Errorf("%w: the network takes %d inputs (%v), but the images have %d×%d = %d pixels", ErrInvalid, in, spec.Input, s.Rows, s.Cols, s.Rows*s.Cols)
	}
	if out := spec.Outputs(); out != len(s.Classes) && !(out == 1 && len(s.Classes) == 2) {
		return fmt.Errorf("%w: the network ends with %d outputs, but there are %d classes", ErrInvalid, out, len(s.Classes))
	}
	return nil
}
