package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/recipe"
)

// trainConfig is a training run's flags: the recipe (what defines the run; each flag is
// named after its key) and how the command runs and reports it.
type trainConfig struct {
	recipe.Recipe

	Threads    int
	DataDir    string // --data
	Prefix     string // --prefix
	JSON       bool
	History    string
	Progress   string // auto, bar, plain, none
	CPUProfile string
	Out        string // model file to write
	Checkpoint string // directory for per-epoch checkpoints
	Resume     string // directory of a checkpoint to continue from
	Report     string // directory for the HTML report
}

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
	c.Recipe = recipe.Default()
	d := c.Recipe
	fs.StringVar(&c.Preset, "preset", "default", "starting configuration: "+strings.Join(recipe.Presets, ", ")+"; other flags override it")
	fs.Var((*intList)(&c.Layers), "layers", "layer sizes, input first")
	fs.StringVar(&c.Activation, "activation", d.Activation, "hidden activation: "+strings.Join(nn.Activations, ", "))
	fs.StringVar(&c.Output, "output", d.Output, "output activation: "+strings.Join(nn.Outputs, ", "))
	fs.StringVar(&c.Loss, "loss", d.Loss, "loss: ce (cross-entropy), bce (binary cross-entropy), mse (squared error)")
	fs.StringVar(&c.Init, "init", d.Init, "weight init: "+joinInits())
	fs.StringVar(&c.Optimizer, "optimizer", d.Optimizer, "optimizer: "+strings.Join(optim.Names, ", "))
	fs.Float64Var(&c.LR, "lr", d.LR, "learning rate")
	fs.IntVar(&c.Batch, "batch", d.Batch, "mini-batch size (1: per-example SGD)")
	fs.IntVar(&c.Epochs, "epochs", d.Epochs, "passes over the training set (--model cnn: 15)")
	fs.Uint64Var(&c.Seed, "seed", d.Seed, "random seed: the same seed gives the same run")
	fs.IntVar(&c.Threads, "threads", runtime.GOMAXPROCS(0), "threads for the matrix products; the default is GOMAXPROCS: every core, or fewer under a container's CPU limit or $GOMAXPROCS")
	fs.StringVar(&c.Dataset, "dataset", d.Dataset, "data set: "+strings.Join(dataset.Names(), ", "))
	fs.StringVar(&c.DataDir, "data", "", "directory holding the IDX files, or class folders DIR/train/<class>/*.png (default: $DIGITNET_DATA, then the user cache)")
	fs.StringVar(&c.Prefix, "prefix", "", "with --data: the IDX files' name prefix, e.g. emnist-digits for emnist-digits-train-images-idx3-ubyte.gz (default: the only one there)")
	fs.StringVar(&c.Clean, "clean", "", "drop images: nonfinite (NaN or infinite pixels), empty (blank training images), duplicates (repeated training images); comma-separated")
	fs.IntVar(&c.LabelShift, "label-shift", 0, "pair training image i with label i+K: labels off by K from their images")
	fs.StringVar(&c.TestLabelMap, "test-label-map", "", "map test labels to the training classes, from:to,… (test labels encoded differently)")
	fs.StringVar(&c.Balance, "balance", "", "oversample: repeat the rarer classes' training images up to the most common class's count")
	fs.BoolVar(&c.InvertTest, "invert-test", false, "invert the test images (ink and paper swapped between the sets)")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "use only the first N training images (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "use only the first N test images (0: all)")
	fs.StringVar(&c.Input, "input", d.Input, "pixel scaling: raw (0..255), unit (0..1), standard (zero mean, unit deviation)")
	fs.BoolVar(&c.Shuffle, "shuffle", d.Shuffle, "reshuffle the training set every epoch")
	fs.StringVar(&c.Schedule, "schedule", d.Schedule, "learning-rate schedule, per epoch: constant, cosine (decay to 0 over the run), step (×0.1 at 50% and 75% of the epochs), warmup (linear over --warmup epochs, then cosine), onecycle (up from lr/25 over 30%, then cosine down)")
	fs.IntVar(&c.Warmup, "warmup", d.Warmup, "epochs of linear warm-up for --schedule warmup")
	fs.Float64Var(&c.Decay, "weight-decay", 0, "weight decay on the weights (L2; decoupled for --optimizer adamw)")
	fs.Float64Var(&c.Smoothing, "label-smoothing", 0, "label smoothing ε for softmax cross-entropy")
	fs.IntVar(&c.Val, "val", 0, "hold out the last N training images for validation, measured every epoch; the best epoch's weights are kept")
	fs.StringVar(&c.Augment, "augment", d.Augment, "distort training images on the fly (--model cnn: affine): none, affine (shift ±2 px, rotate ±10°, scale ±10%), elastic (affine plus Simard's elastic distortion α 34, σ 4), pen (affine, strokes thickened or thinned, blur: other pens and photos), pen-elastic (pen and elastic), affine-widen (affine, a third of the digits widened towards a square, as scanned sets stretch theirs); for clothes, not digits: flip (mirror half the images), shift-flip (shift ±2 px and flip), affine-flip")
	fs.StringVar(&c.Extra, "extra", "", "also train on the train/ images of these class-folder DIRs (comma-separated; same classes), spread evenly among the data set's")
	fs.StringVar(&c.Outliers, "outliers", "", "also train on the images in DIR/train/<kind>/ of these DIRs (comma-separated; any kinds) as outliers: pictures of none of the classes, trained towards a uniform answer so the model is unsure of them (outlier exposure; needs --output softmax --loss ce)")
	fs.Float64Var(&c.OutlierWeight, "outlier-weight", 1, "with --outliers: an outlier's weight in the loss against a labelled image's")
	fs.BoolVar(&c.KeepLast, "keep-last", false, "with --val: keep the last epoch's weights instead of the best validation epoch's (the validation split still fits the calibration)")
	fs.IntVar(&c.Patience, "patience", 0, "with --val: stop after N epochs without a better validation accuracy (0: never)")
	fs.BoolVar(&c.JSON, "json", false, "write one JSON object per epoch and a final one to stdout")
	fs.StringVar(&c.History, "history", "", "write the per-epoch curve to FILE (.csv or .json)")
	fs.StringVar(&c.Checkpoint, "checkpoint", "", "write a checkpoint to DIR after every epoch (weights, optimizer and random state, history)")
	fs.StringVar(&c.Resume, "resume", "", "continue the run checkpointed in DIR (its settings are used; flags that differ are an error)")
	fs.StringVar(&c.Report, "report", "", "write a report to DIR: learning curves, confusion matrix, worst mistakes, index.html")
	fs.StringVar(&c.Out, "out", "", "save the trained model to FILE (safetensors; see internal/model)")
	fs.StringVar(&c.Model, "model", d.Model, "architecture: mlp (from --layers, --activation), cnn, lenet5, examples (PyTorch's examples/mnist CNN)")
	fs.StringVar(&c.ArchFile, "arch", "", "read the architecture from a JSON spec FILE (see README); overrides --model and --layers")
	fs.StringVar(&c.TrainEval, "train-eval", d.TrainEval, "train accuracy per epoch: full (a pass over the training set after the epoch) or running (as trained, free; Keras' way)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the training loop to FILE (go tool pprof)")
	fs.StringVar(&c.Conv, "conv", d.Conv, "convolution algorithm: auto (training by oneDNN's direct convolution where the CPU has AVX-512, for layers of ≥ 3 input channels but the 3×3 ones Winograd F(6×6) takes; otherwise, and for inference, Winograd for stride-1 convolutions with ≥ 8 input channels: F(4×4,3×3) or F(6×6,3×3) for 3×3, F(2×2,5×5) for 5×5; im2col+GEMM for the rest), portable (auto without oneDNN: the same on every CPU; reproduces runs made before the direct convolution), direct (oneDNN's direct convolution for every layer's training), gemm (im2col+GEMM everywhere: reproduces runs made before Winograd), winograd (for every 3×3 and 5×5 stride-1 convolution)")
	fs.StringVar(&c.Precision, "precision", d.Precision, "the training products of dense layers and convolutions: fp32, or bf16 (bfloat16 operands, float32 sums, float32 weights and everything else: mixed precision; needs a CPU with AVX-512 BF16 and oneDNN, otherwise a note and fp32)")
	fs.StringVar(&c.Progress, "progress", "auto", "progress within an epoch: auto (a bar on a terminal, else plain lines), bar, plain, none")
}

func joinInits() string {
	s := make([]string, len(nn.Inits))
	for i, v := range nn.Inits {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// flagName is the flag of a recipe key.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// resolve applies the preset under the flags the user set and checks the result.
func resolve(fs *flag.FlagSet, c *trainConfig) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.ArchFile != "" {
		spec, err := nn.ReadSpec(c.ArchFile)
		if err != nil {
			return usageErr("--arch: %s", strings.TrimPrefix(err.Error(), "nn: "))
		}
		c.ArchSpec = &spec
	}
	if err := c.ApplyPreset(func(key string) bool { return set[flagName(key)] }); err != nil {
		return flagError(err)
	}
	// --layers and --activation shape the MLP; another architecture has its own layers,
	// and the flags would pass unseen.
	if arch, own := c.archName(); arch != "" {
		for _, f := range []string{"layers", "activation"} {
			if set[f] {
				return usageErr("--%s applies to --model mlp; %s", f, own)
			}
		}
	}
	if c.Outliers == "" {
		if set["outlier-weight"] {
			return usageErr("--outlier-weight needs --outliers")
		}
		c.OutlierWeight = 0 // not recorded: a run without outliers is the same run as before the flag
	}
	return c.validate()
}

// archName names the architecture when it is not the MLP --layers describes ("--arch
// FILE" or "--model NAME"; "" for the MLP), and says where its layers come from.
func (c *trainConfig) archName() (name, own string) {
	switch {
	case c.ArchFile != "":
		return "--arch " + c.ArchFile, "the layers are the ones --arch " + c.ArchFile + " describes"
	case c.Model != "" && c.Model != "mlp":
		return "--model " + c.Model, "--model " + c.Model + " has its own layers (write yours in a file for --arch)"
	}
	return "", ""
}

// validate checks the settings only the command has.
func (c *trainConfig) validate() error {
	switch {
	case c.Threads < 1:
		return usageErr("--threads %d: want at least 1", c.Threads)
	case c.DataDir == "" && c.Resume == "" && !slices.Contains(dataset.Names(), c.Dataset):
		return usageErr("unknown --dataset %q, want one of %s (or --data DIR for your own data)", c.Dataset, strings.Join(dataset.Names(), ", "))
	case !slices.Contains([]string{"auto", "bar", "plain", "none"}, c.Progress):
		return usageErr("unknown --progress %q, want auto, bar, plain or none", c.Progress)
	}
	if c.History != "" {
		if ext := strings.ToLower(filepath.Ext(c.History)); ext != ".csv" && ext != ".json" {
			return usageErr("--history %s: want a file name ending in .csv or .json", c.History)
		}
	}
	return nil
}

// flagError turns a recipe's error into the command's: a bad setting names its flag.
func flagError(err error) error {
	var fe *recipe.FieldError
	if errors.As(err, &fe) {
		return usageErr("--%s %v: want %s", flagName(fe.Key), fe.Value, fe.Want)
	}
	msg := err.Error()
	for _, p := range []string{"recipe: invalid: ", "nn: ", "optim: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return usageErr("%s", msg)
}

// loadData reads the training and test sets. --data DIR names them: class folders
// (DIR/train/<class>/, DIR/test/<class>/), or IDX files in DIR of any name prefix (any
// image size and class count; --prefix picks one of several), or, for a DIR with no
// data in it, the home where --dataset is kept (fetched into DIR/<dataset> when absent).
// Without --data, MNIST or Fashion-MNIST from $DIGITNET_DATA or the user cache. Data the
// user names is used or refused, never swapped for another.
func (c *trainConfig) loadData(ctx context.Context, log io.Writer) (trainSet, testSet *dataset.Set, err error) {
	switch dir := c.DataDir; {
	case dir != "" && dataset.IsFolder(dir):
		fmt.Fprintf(log, "data: reading class folders in %s\n", dir)
		trainSet, testSet, _, err = dataset.LoadFolder(ctx, dir, log)
	case dir != "":
		found, ferr := dataset.FindFiles(dir)
		if ferr != nil {
			return nil, nil, ferr
		}
		if len(found) == 0 && c.Prefix == "" {
			if stray := idxLike(dir); len(stray) > 0 {
				return nil, nil, fmt.Errorf("--data %s holds IDX files digitnet cannot pair (%s): want <prefix>train-images-idx3-ubyte, <prefix>train-labels-idx1-ubyte, <prefix>t10k-images-idx3-ubyte and <prefix>t10k-labels-idx1-ubyte (or test-…), each maybe .gz", dir, strings.Join(stray, ", "))
			}
			trainSet, testSet, err = dataset.Load(ctx, dataset.Options{Dataset: c.Dataset, Dir: dir, Log: log})
			break
		}
		f, serr := dataset.Select(found, dir, c.Prefix)
		if serr != nil {
			return nil, nil, serr
		}
		var rep dataset.Report
		if trainSet, testSet, rep, err = dataset.Open(ctx, f); err == nil {
			for _, n := range rep.Notes {
				fmt.Fprintf(log, "data: %s\n", n)
			}
		}
	case c.Resume != "" && !slices.Contains(dataset.Names(), c.Dataset):
		return nil, nil, usageErr("--resume %s: the run trained on data of its own (dataset %q), which a checkpoint does not hold; pass --data DIR with it", c.Resume, c.Dataset)
	default:
		trainSet, testSet, err = dataset.Load(ctx, dataset.Options{Dataset: c.Dataset, Log: log})
	}
	if err != nil {
		return nil, nil, err
	}
	c.Dataset = trainSet.Name
	return trainSet, testSet, nil
}

// addExtra spreads the training images of the --extra class folders among trainSet's.
func (c *trainConfig) addExtra(ctx context.Context, trainSet *dataset.Set, log io.Writer) (*dataset.Set, error) {
	if c.Extra == "" {
		return trainSet, nil
	}
	for _, dir := range strings.Split(c.Extra, ",") {
		if !dataset.IsFolder(dir) {
			return nil, fmt.Errorf("--extra %s: not a class-folder directory (want %s/train/<class>/*.png)", dir, dir)
		}
		extra, _, _, err := dataset.LoadFolder(ctx, dir, log)
		if err != nil {
			return nil, fmt.Errorf("--extra %s: %w", dir, err)
		}
		if trainSet, err = dataset.Interleave(trainSet, extra); err != nil {
			return nil, fmt.Errorf("--extra %s: %w", dir, err)
		}
		fmt.Fprintf(log, "data: %d training images from %s spread among the %s ones (%d in all)\n", extra.N, dir, trainSet.Name, trainSet.N)
	}
	return trainSet, nil
}

// loadOutliers reads the training images of the --outliers class folders, whatever
// their classes, as one set (nil without --outliers).
func (c *trainConfig) loadOutliers(ctx context.Context, log io.Writer) (*dataset.Set, error) {
	if c.Outliers == "" {
		return nil, nil
	}
	var all *dataset.Set
	for _, dir := range strings.Split(c.Outliers, ",") {
		s, _, err := dataset.LoadSplit(ctx, dir, "train", log)
		if err != nil {
			return nil, fmt.Errorf("--outliers %s: %w", dir, err)
		}
		if all == nil {
			all = s
		} else {
			all.Images = append(all.Images, s.Images...)
			all.N += s.N
		}
		fmt.Fprintf(log, "data: %d outliers (pictures of none of the classes) from %s\n", s.N, dir)
	}
	all.Labels = nil // none of the classes
	return all, nil
}

// idxLike lists the files in dir that look like IDX files by name.
func idxLike(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		n := strings.ToLower(e.Name())
		if !e.IsDir() && (strings.Contains(n, "ubyte") || strings.Contains(n, ".idx")) {
			out = append(out, e.Name())
		}
	}
	return out
}

// augmentation describes the run's augmentation for its header line.
func (c *trainConfig) augmentation() string {
	a, _ := augment.Preset(c.Augment)
	return fmt.Sprintf("%s %+v", c.Augment, a)
}

// flagSet reports, by recipe key, the flags the user gave.
func flagSet(fs *flag.FlagSet) func(key string) bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return func(key string) bool { return set[flagName(key)] }
}

// noteUnused says on w, for each of names given on the command line, that command
// takes the flag from train's set but does not use it, and why.
func noteUnused(fs *flag.FlagSet, w io.Writer, command, why string, names ...string) {
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			fmt.Fprintf(w, "digitnet %s: --%s is not used here: %s\n", command, f.Name, why)
		}
	})
}
