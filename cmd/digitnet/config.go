package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/folder"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
)

// trainConfig is everything a training run is made of; every field is a flag.
type trainConfig struct {
	// What defines the run: saved in checkpoints and compared on --resume.
	Preset     string   `json:"preset"`
	Layers     []int    `json:"layers"`
	Activation string   `json:"activation"`
	Output     string   `json:"output"`
	Loss       string   `json:"loss"`
	Init       string   `json:"init"`
	Optimizer  string   `json:"optimizer"`
	LR         float64  `json:"lr"`
	Batch      int      `json:"batch"`
	Epochs     int      `json:"epochs"`
	Seed       uint64   `json:"seed"`
	Dataset    string   `json:"dataset"`
	TrainLimit int      `json:"train_limit"`
	TestLimit  int      `json:"test_limit"`
	Input      string   `json:"input"`    // raw, unit, standard
	Shuffle    bool     `json:"shuffle"`  // reshuffle every epoch
	Schedule   string   `json:"schedule"` // constant, cosine, step, warmup, onecycle
	Warmup     int      `json:"warmup,omitempty"`
	TrainEval  string   `json:"train_eval"`
	Decay      float64  `json:"weight_decay,omitempty"`
	Smoothing  float64  `json:"label_smoothing,omitempty"`
	Val        int      `json:"val,omitempty"`       // validation examples held out of training
	Patience   int      `json:"patience,omitempty"`  // early stopping
	Augment    string   `json:"augment,omitempty"`   // none, affine, elastic
	Model      string   `json:"model"`               // mlp (from --layers etc.), cnn, lenet5
	ArchFile   string   `json:"arch,omitempty"`      // a JSON spec file
	ArchSpec   *nn.Spec `json:"arch_spec,omitempty"` // the spec read from ArchFile, kept for resume

	// How it is run and reported.
	Threads    int    `json:"-"`
	Data       string `json:"-"`
	JSON       bool   `json:"-"`
	History    string `json:"-"`
	Progress   string `json:"-"` // auto, bar, plain, none
	CPUProfile string `json:"-"`
	Conv       string `json:"-"` // convolution algorithm: auto, gemm, winograd (rounding only)
	Out        string `json:"-"` // model file to write
	Checkpoint string `json:"-"` // directory for per-epoch checkpoints
	Resume     string `json:"-"` // directory of a checkpoint to continue from
	Report     string `json:"-"` // directory for the HTML report
}

// Input scalings, byte value v to network input.
var inputs = map[string]string{
	"raw":      "v (0..255, as the seed did)",
	"unit":     "v/255 (0..1)",
	"standard": "(v/255 - mean)/deviation of the data set's training pixels (MNIST 0.1307, 0.3081; Fashion-MNIST 0.2860, 0.3530)",
}

// presets are named starting points; flags given on the command line override them.
var presets = map[string]trainConfig{
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

var presetNames = []string{"default", "seed", "fixed"}

// augmentations are the --augment settings.
var augmentations = map[string]augment.Config{
	"none":    {},
	"affine":  {Translate: 2, Rotate: 10, Scale: 0.1},
	"elastic": {Translate: 2, Rotate: 10, Scale: 0.1, Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 4}},
	// Mirroring suits clothes (Fashion-MNIST), not digits.
	"flip":        {FlipX: true},
	"shift-flip":  {Translate: 2, FlipX: true},
	"affine-flip": {Translate: 2, Rotate: 10, Scale: 0.1, FlipX: true},
}

var schedules = []string{"constant", "cosine", "step", "warmup", "onecycle"}

// intList is a flag of comma-separated positive integers.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	var out []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return fmt.Errorf("%q is not a list of positive integers like 784,300,10", s)
		}
		out = append(out, v)
	}
	*l = out
	return nil
}

// trainFlags registers the training flags on fs, filling c; call resolve after Parse.
func trainFlags(fs *flag.FlagSet, c *trainConfig) {
	d := presets["default"]
	*c = d
	c.Layers = slices.Clone(d.Layers)
	fs.StringVar(&c.Preset, "preset", "default", "starting configuration: "+strings.Join(presetNames, ", ")+"; other flags override it")
	fs.Var((*intList)(&c.Layers), "layers", "layer sizes, input first")
	fs.StringVar(&c.Activation, "activation", d.Activation, "hidden activation: "+strings.Join(nn.Activations, ", "))
	fs.StringVar(&c.Output, "output", d.Output, "output activation: "+strings.Join(nn.Outputs, ", "))
	fs.StringVar(&c.Loss, "loss", d.Loss, "loss: ce (cross-entropy), bce (binary cross-entropy), mse (squared error)")
	fs.StringVar(&c.Init, "init", d.Init, "weight init: "+joinInits())
	fs.StringVar(&c.Optimizer, "optimizer", d.Optimizer, "optimizer: "+strings.Join(optim.Names, ", "))
	fs.Float64Var(&c.LR, "lr", d.LR, "learning rate")
	fs.IntVar(&c.Batch, "batch", d.Batch, "mini-batch size (1: per-example SGD)")
	fs.IntVar(&c.Epochs, "epochs", d.Epochs, "passes over the training set (--model cnn: 15)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed: the same seed gives the same run")
	fs.IntVar(&c.Threads, "threads", runtime.NumCPU(), "threads for the matrix products")
	fs.StringVar(&c.Dataset, "dataset", "mnist", "data set: mnist, fashion")
	fs.StringVar(&c.Data, "data", "", "directory holding the IDX files (default: $DIGITNET_DATA, then the user cache)")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "use only the first N training images (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "use only the first N test images (0: all)")
	fs.StringVar(&c.Input, "input", d.Input, "pixel scaling: raw (0..255), unit (0..1), standard (zero mean, unit deviation)")
	fs.BoolVar(&c.Shuffle, "shuffle", d.Shuffle, "reshuffle the training set every epoch")
	fs.StringVar(&c.Schedule, "schedule", d.Schedule, "learning-rate schedule, per epoch: constant, cosine (decay to 0 over the run), step (×0.1 at 50% and 75% of the epochs), warmup (linear over --warmup epochs, then cosine), onecycle (up from lr/25 over 30%, then cosine down)")
	fs.IntVar(&c.Warmup, "warmup", 2, "epochs of linear warm-up for --schedule warmup")
	fs.Float64Var(&c.Decay, "weight-decay", 0, "weight decay on the weights (L2; decoupled for --optimizer adamw)")
	fs.Float64Var(&c.Smoothing, "label-smoothing", 0, "label smoothing ε for softmax cross-entropy")
	fs.IntVar(&c.Val, "val", 0, "hold out the last N training images for validation, measured every epoch; the best epoch's weights are kept")
	fs.StringVar(&c.Augment, "augment", "none", "distort training images on the fly (--model cnn: affine): none, affine (shift ±2 px, rotate ±10°, scale ±10%), elastic (affine plus Simard's elastic distortion α 34, σ 4); for clothes, not digits: flip (mirror half the images), shift-flip (shift ±2 px and flip), affine-flip")
	fs.IntVar(&c.Patience, "patience", 0, "with --val: stop after N epochs without a better validation accuracy (0: never)")
	fs.BoolVar(&c.JSON, "json", false, "write one JSON object per epoch and a final one to stdout")
	fs.StringVar(&c.History, "history", "", "write the per-epoch curve to FILE (.csv or .json)")
	fs.StringVar(&c.Checkpoint, "checkpoint", "", "write a checkpoint to DIR after every epoch (weights, optimizer and random state, history)")
	fs.StringVar(&c.Resume, "resume", "", "continue the run checkpointed in DIR (its settings are used; flags that differ are an error)")
	fs.StringVar(&c.Report, "report", "", "write a report to DIR: learning curves, confusion matrix, worst mistakes, index.html")
	fs.StringVar(&c.Out, "out", "", "save the trained model to FILE (safetensors; see internal/model)")
	fs.StringVar(&c.Model, "model", "mlp", "architecture: mlp (from --layers, --activation), cnn, lenet5, examples (PyTorch's examples/mnist CNN)")
	fs.StringVar(&c.ArchFile, "arch", "", "read the architecture from a JSON spec FILE (see README); overrides --model and --layers")
	fs.StringVar(&c.TrainEval, "train-eval", "full", "train accuracy per epoch: full (a pass over the training set after the epoch) or running (as trained, free; Keras' way)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the training loop to FILE (go tool pprof)")
	fs.StringVar(&c.Conv, "conv", "auto", "convolution algorithm: auto (Winograd for stride-1 convolutions with ≥ 8 input channels: F(4×4,3×3) for 3×3, F(2×2,5×5) for 5×5; im2col+GEMM for the rest), gemm (im2col+GEMM everywhere: reproduces runs made before Winograd), winograd (for every 3×3 and 5×5 stride-1 convolution)")
	fs.StringVar(&c.Progress, "progress", "auto", "progress within an epoch: auto (a bar on a terminal, else plain lines), bar, plain, none")
}

func joinInits() string {
	s := make([]string, len(nn.Inits))
	for i, v := range nn.Inits {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// resolve applies the preset under the flags the user set and checks the result.
func resolve(fs *flag.FlagSet, c *trainConfig) error {
	p, ok := presets[c.Preset]
	if !ok {
		return usageErr("unknown preset %q, want one of %s", c.Preset, strings.Join(presetNames, ", "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	apply := func(name string, dst, src any) {
		if set[name] {
			return
		}
		switch d := dst.(type) {
		case *[]int:
			*d = slices.Clone(*src.(*[]int))
		case *string:
			*d = *src.(*string)
		case *float64:
			*d = *src.(*float64)
		case *int:
			*d = *src.(*int)
		case *bool:
			*d = *src.(*bool)
		}
	}
	apply("layers", &c.Layers, &p.Layers)
	apply("activation", &c.Activation, &p.Activation)
	apply("output", &c.Output, &p.Output)
	apply("loss", &c.Loss, &p.Loss)
	apply("init", &c.Init, &p.Init)
	apply("optimizer", &c.Optimizer, &p.Optimizer)
	apply("lr", &c.LR, &p.LR)
	apply("batch", &c.Batch, &p.Batch)
	apply("epochs", &c.Epochs, &p.Epochs)
	apply("input", &c.Input, &p.Input)
	apply("shuffle", &c.Shuffle, &p.Shuffle)
	apply("schedule", &c.Schedule, &p.Schedule)
	if r, ok := modelRecipes[c.Model]; ok && c.Preset == "default" && c.ArchFile == "" {
		apply("epochs", &c.Epochs, &r.Epochs)
		apply("augment", &c.Augment, &r.Augment)
	}
	return c.validate()
}

// modelRecipes are the training settings a --model preset brings under the default
// preset (flags still override them): `train --model cnn` is the measured recipe that
// reaches 99.5 % in under 2 minutes (BENCHMARKS.md).
var modelRecipes = map[string]trainConfig{
	"cnn": {Epochs: 15, Augment: "affine"},
}

func (c *trainConfig) validate() error {
	if c.ArchFile != "" && c.ArchSpec == nil {
		spec, err := nn.ReadSpec(c.ArchFile)
		if err != nil {
			return usageErr("--arch: %s", strings.TrimPrefix(err.Error(), "nn: "))
		}
		c.ArchSpec = &spec
	}
	if _, ok := modelSpecs[c.Model]; !ok && c.Model != "mlp" {
		return usageErr("unknown --model %q, want mlp, cnn, lenet5 or examples", c.Model)
	}
	if c.ArchSpec == nil && c.Model == "mlp" {
		if err := c.mlp().Validate(); err != nil { // names the flags' allowed values
			return usageErr("%s", strings.TrimPrefix(err.Error(), "nn: "))
		}
	}
	if _, err := nn.ParseConvAlgorithm(c.Conv); err != nil {
		return usageErr("--conv: %s", strings.TrimPrefix(err.Error(), "nn: "))
	}
	if err := c.spec().Validate(); err != nil {
		return usageErr("%s", strings.TrimPrefix(err.Error(), "nn: "))
	}
	if _, err := optim.NewDecay(c.Optimizer, c.LR, c.Decay); err != nil {
		return usageErr("%s", strings.TrimPrefix(err.Error(), "optim: "))
	}
	switch {
	case c.Batch < 1:
		return usageErr("--batch %d: want at least 1", c.Batch)
	case c.Epochs < 1:
		return usageErr("--epochs %d: want at least 1", c.Epochs)
	case c.Threads < 1:
		return usageErr("--threads %d: want at least 1", c.Threads)
	case c.TrainLimit < 0 || c.TestLimit < 0:
		return usageErr("--train-limit and --test-limit must be 0 (all) or positive")
	case c.Dataset != "mnist" && c.Dataset != "fashion" && c.Dataset != folder.Name:
		return usageErr("unknown dataset %q, want mnist or fashion", c.Dataset)
	case inputs[c.Input] == "":
		return usageErr("unknown --input %q, want raw, unit or standard", c.Input)
	case !slices.Contains(schedules, c.Schedule):
		return usageErr("unknown --schedule %q, want one of %s", c.Schedule, strings.Join(schedules, ", "))
	case c.Val < 0 || c.Patience < 0 || c.Warmup < 0:
		return usageErr("--val, --patience and --warmup must be 0 or positive")
	case augmentations[c.Augment] == (augment.Config{}) && c.Augment != "none":
		return usageErr("unknown --augment %q, want none, affine, elastic, flip, shift-flip or affine-flip", c.Augment)
	case c.Patience > 0 && c.Val == 0:
		return usageErr("--patience needs a validation set: add --val N")
	case c.TrainEval != "full" && c.TrainEval != "running":
		return usageErr("unknown --train-eval %q, want full or running", c.TrainEval)
	case !slices.Contains([]string{"auto", "bar", "plain", "none"}, c.Progress):
		return usageErr("unknown --progress %q, want auto, bar, plain or none", c.Progress)
	case c.spec().InputSize() != 784:
		return usageErr("the network takes %d inputs (%v), but the images have 28×28 = 784 pixels", c.spec().InputSize(), c.spec().Input)
	}
	if c.History != "" {
		if ext := strings.ToLower(filepath.Ext(c.History)); ext != ".csv" && ext != ".json" {
			return usageErr("--history %s: want a file name ending in .csv or .json", c.History)
		}
	}
	return nil
}

// checkClasses reports a network whose output count does not fit the data's classes
// (a single output serves two classes).
func (c *trainConfig) checkClasses(classes int) error {
	out := c.spec().Outputs()
	if out != classes && !(out == 1 && classes == 2) {
		return usageErr("the network ends with %d outputs (--layers %s), but there are %d classes", out, (*intList)(&c.Layers), classes)
	}
	return nil
}

// modelSpecs are the preset architectures of --model; their output function, loss and
// init come from the flags.
var modelSpecs = map[string][]nn.LayerSpec{
	// A small, fast CNN: two 5×5 convolutions with batch norm, a dense layer, dropout.
	"cnn": {
		{Type: "conv2d", Out: 16, Kernel: 5, Padding: 2}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 32, Kernel: 5}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dropout", P: 0.25}, {Type: "dense", Out: 10},
	},
	// The PyTorch examples/mnist network (the peer's torch_cnn.py --model examples).
	"examples": {
		{Type: "conv2d", Out: 32, Kernel: 3}, {Type: "relu"}, {Type: "conv2d", Out: 64, Kernel: 3}, {Type: "relu"},
		{Type: "maxpool", Kernel: 2}, {Type: "dropout", P: 0.25}, {Type: "flatten"},
		{Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dropout", P: 0.5}, {Type: "dense", Out: 10},
	},
	// LeNet-5 as PyTorch writes it (ReLU, max pooling): the peer's torch_cnn.py --model lenet.
	"lenet5": {
		{Type: "conv2d", Out: 6, Kernel: 5, Padding: 2}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 16, Kernel: 5}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dense", Out: 120}, {Type: "relu"}, {Type: "dense", Out: 84}, {Type: "relu"}, {Type: "dense", Out: 10},
	},
}

// spec is the architecture the flags describe.
func (c *trainConfig) spec() nn.Spec {
	if c.ArchSpec != nil {
		s := *c.ArchSpec
		if c.Smoothing > 0 { // the flag overrides the file's label_smoothing
			s.LabelSmoothing = c.Smoothing
		}
		return s
	}
	var s nn.Spec
	if layers, ok := modelSpecs[c.Model]; ok {
		s = nn.Spec{Input: []int{1, 28, 28}, Layers: layers, Output: c.Output, Loss: c.Loss, Init: nn.Init(c.Init)}
	} else {
		s = c.mlp().Spec()
	}
	s.LabelSmoothing = c.Smoothing
	return s
}

// loadData reads the training and test sets: a class-folder directory given with
// --data (DIR/train/<class>/, DIR/test/<class>/), else MNIST or Fashion-MNIST.
func (c *trainConfig) loadData(ctx context.Context, log io.Writer) (trainSet, testSet *dataset.Set, err error) {
	if c.Data != "" && folder.Is(c.Data) {
		fmt.Fprintf(log, "data: reading class folders in %s\n", c.Data)
		trainSet, testSet, _, err = folder.Load(ctx, c.Data, log)
		c.Dataset = folder.Name
	} else {
		trainSet, testSet, err = dataset.Load(ctx, dataset.Options{Dataset: c.Dataset, Dir: c.Data, Log: log})
	}
	if err != nil {
		return nil, nil, err
	}
	return trainSet, testSet, c.checkClasses(len(trainSet.Classes))
}

func (c *trainConfig) mlp() nn.MLP {
	return nn.MLP{Sizes: c.Layers, Activation: c.Activation, Output: c.Output, Loss: c.Loss, Init: nn.Init(c.Init)}
}

// pixelStats are the mean and standard deviation of each data set's training pixels,
// scaled to [0, 1], for --input standard.
var pixelStats = map[string]struct{ mean, std float64 }{
	"mnist":   {0.1307, 0.3081},
	"fashion": {0.2860, 0.3530},
}

// scaling returns the affine map from a byte to a network input.
func (c *trainConfig) scaling() (scale, offset float32) {
	switch c.Input {
	case "raw":
		return 1, 0
	case "standard":
		st, ok := pixelStats[c.Dataset]
		if !ok { // class folders: MNIST's, as they hold MNIST-like digits
			st = pixelStats["mnist"]
		}
		return float32(1 / (255 * st.std)), float32(-st.mean / st.std)
	}
	return 1.0 / 255, 0
}

// useCores spreads a network's work over threads cores. A network with convolutions
// splits each batch on tensor's workers, each driving a single-threaded BLAS, so that
// its kernels between the products (im2col, pooling, batch norm) use every core too; a
// dense network lets OpenBLAS thread each product, which measured faster for it.
func useCores(s nn.Spec, threads int) {
	if s.Convolutional() {
		kernels.SetThreads(1)
		kernels.SetWorkers(threads)
		return
	}
	kernels.SetThreads(threads)
	kernels.SetWorkers(1)
}
