package recipe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// Run is a training run: the network, optimizer and random source a recipe makes, and
// where a resumed run stands. One source drives everything random in it (initial
// weights, shuffling, dropout masks), so a recipe and seed fix the run.
type Run struct {
	Recipe Recipe
	Net    *nn.Network
	Opt    optim.Optimizer

	source   *rand.PCG
	history  []train.Epoch  // epochs already done (resumed)
	partial  *train.Partial // the epoch a resumed run stopped in
	best     *train.Best    // the best validation epoch a resumed run had found
	aug      *augment.Data  // the augmenter, when training distorts its images
	augState uint64         // its state to resume from

	prepared struct{ in, out [2]*dataset.Set } // the last Prepare's sets, kept for Train

	calibration *train.Calibration // fitted on the validation split after training
	bf16Refused error              // why Precision bf16 could not run, if it could not
}

// CalibrationAbstain is the share of validation examples whose answer a calibrated
// model withholds as too unsure (its minimum confidence is their quantile).
const CalibrationAbstain = 0.005

// Calibration is the temperature and minimum confidence fitted on the validation
// split (Recipe.Val) after a run with a softmax output; nil otherwise. Save stores it.
func (run *Run) Calibration() *train.Calibration { return run.calibration }

// sourceStream is the PCG stream every run's source uses with the seed.
const sourceStream = 0x9e3779b97f4a7c15

// New builds the network, optimizer and random source of a fresh run.
func New(r Recipe) (*Run, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	src := rand.NewPCG(r.Seed, sourceStream)
	net, err := r.Spec().BuildFrom(src)
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewDecay(r.Optimizer, r.LR, r.Decay)
	if err != nil {
		return nil, err
	}
	run := &Run{Recipe: r, Net: net, Opt: opt, source: src}
	run.setProducts()
	return run, nil
}

// setProducts gives the network the recipe's convolution algorithm and precision.
func (run *Run) setProducts() {
	algo, _ := nn.ParseConvAlgorithm(run.Recipe.Conv) // validated
	run.Net.SetConvAlgorithm(algo)
	if run.Recipe.Precision == "bf16" {
		run.bf16Refused = run.Net.SetBF16(true)
	}
}

// FillProducts sets the recipe's convolution algorithm and precision where it has none
// (a checkpoint of state version 3 or older did not record them) to conv and
// precision, and gives the network what the recipe then says. Those it has stay.
func (run *Run) FillProducts(conv, precision string) error {
	r := run.Recipe
	if r.Conv == "" {
		r.Conv = conv
	}
	if r.Precision == "" {
		r.Precision = precision
	}
	if err := r.Validate(); err != nil {
		return err
	}
	run.Recipe = r
	run.setProducts()
	return nil
}

// Precision is the precision the run's products train in: "bf16" when the recipe asks
// for it and the CPU runs it (kernels.BF16), else "fp32", with the reason bf16 could
// not be had when it was asked for.
func (run *Run) Precision() (string, error) {
	switch {
	case run.Recipe.Precision != "bf16":
		return "fp32", nil
	case run.bf16Refused != nil:
		return "fp32", run.bf16Refused
	}
	return "bf16", nil
}

// History is the epochs a resumed run had done.
func (run *Run) History() []train.Epoch { return run.history }

// Partial is the epoch a resumed run had been stopped in, nil if it stopped between
// epochs.
func (run *Run) Partial() *train.Partial { return run.partial }

// Options are what a run needs besides its recipe.
type Options struct {
	// Recorder receives progress within epochs and each epoch's report; nil: none.
	Recorder train.Recorder
	// Checkpoint, when set, is a file written atomically after every epoch, and when an
	// interruption stops the run within one (SaveCheckpoint). Resume continues from it.
	Checkpoint string
	// Saved, when set, is told of every checkpoint written.
	Saved func(path string, epochs int, partial *train.Partial)
	// Classes are the class names recorded in checkpoints (default: the training set's).
	Classes []string
	// Outliers, when set, are pictures of none of the classes, of the training images'
	// size (their labels are ignored): every epoch trains on them besides the training
	// images, towards a uniform answer (Recipe.Outliers says where they came from).
	Outliers *dataset.Set
}

// Train trains the network on trainSet (its first TrainLimit images, less Val held out
// for validation), measuring it on testSet (its first TestLimit) after every epoch. It
// stops early, without error, when ctx is done: the result then says Interrupted, and
// with Options.Checkpoint the stopped epoch is saved to the batch.
func (run *Run) Train(ctx context.Context, trainSet, testSet *dataset.Set, o Options) (train.Result, error) {
	r := &run.Recipe
	if err := checkSets(trainSet, testSet); err != nil {
		return train.Result{}, err
	}
	trainSet, testSet, _, err := run.Prepare(trainSet, testSet)
	if err != nil {
		return train.Result{}, err
	}
	if err := r.CheckData(trainSet); err != nil {
		return train.Result{}, err
	}
	if o.Classes == nil {
		o.Classes = trainSet.Classes
	}
	trainData, testData := run.Data(trainSet, testSet)
	cfg := train.Config{Epochs: r.Epochs, BatchSize: r.Batch, EvalBatch: r.Spec().EvalBatch(), Shuffle: r.Shuffle,
		Schedule: r.LRSchedule(), RunningTrainAccuracy: r.TrainEval == "running", Resume: run.history, ResumePartial: run.partial, ResumeBest: run.best}
	if r.Val > 0 {
		if r.Val >= trainData.Len() {
			return train.Result{}, &FieldError{Key: "val", Value: r.Val, Want: fmt.Sprintf("fewer than the %d training images", trainData.Len())}
		}
		n := trainData.Len() - r.Val
		cfg.Val = train.Window(trainData, n, r.Val)
		trainData = train.Subset(trainData, n)
		cfg.Patience, cfg.KeepBest = r.Patience, !r.KeepLast
	}
	if l, ok := run.Net.Loss.(*nn.SoftmaxCrossEntropy); ok {
		l.OutlierWeight = r.OutlierWeight
	}
	if out := o.Outliers; out != nil && (out.Rows != trainSet.Rows || out.Cols != trainSet.Cols) {
		return train.Result{}, fmt.Errorf("recipe: the outliers are %d×%d pictures, the training images %d×%d", out.Rows, out.Cols, trainSet.Rows, trainSet.Cols)
	}
	if r.Augment != "none" || o.Outliers != nil {
		// Train accuracy is measured on the training images as they are: undistorted,
		// without the outliers.
		n := trainData.Len()
		full := r.Data(trainSet)
		d := tensor.Size(full.ExampleShape)
		plain := &train.Bytes{Pixels: full.Pixels[:n*d], Labels: full.Labels[:n], ExampleShape: full.ExampleShape, Scale: full.Scale, Offset: full.Offset}
		cfg.TrainEval, trainData = plain, plain
		if out := o.Outliers; out != nil {
			// The outliers follow the labelled images (Bytes.Outliers); shuffling mixes them in.
			mixed := *plain
			mixed.Pixels = append(slices.Clip(plain.Pixels), out.Images...)
			mixed.Outliers = out.N
			trainData = &mixed
		}
		if r.Augment != "none" {
			// Distort the training images (and outliers) on the fly.
			run.aug = augment.New(trainData.(*train.Bytes), r.Augmentation(), r.Seed)
			run.aug.SetState(run.augState)
			trainData = run.aug
		}
	}
	if o.Checkpoint != "" {
		cfg.AfterEpoch = func(ck train.Checkpoint) error {
			return run.saveCheckpoint(o, ck, nil)
		}
	}
	res, err := train.Run(ctx, run.Net, run.Opt, trainData, testData, cfg, run.source, o.Recorder)
	if err == nil && o.Checkpoint != "" && res.Partial != nil {
		err = run.saveCheckpoint(o, train.Checkpoint{History: res.History, Best: res.Best}, res.Partial)
	}
	if err == nil && res.Partial == nil && cfg.Val != nil && r.Spec().Output == "softmax" && len(o.Classes) >= 2 {
		// Temperature scaling on the validation split, which training never saw.
		probs, labels := train.Probabilities(run.Net, cfg.Val, r.Spec().EvalBatch())
		c := train.Calibrate(probs, labels, len(o.Classes), CalibrationAbstain)
		run.calibration = &c
	}
	return res, err
}

// Prepare applies the recipe's data fixes (Recipe.Prepare) to the sets; Train does it
// itself, and keeps what this call made for the same sets. notes say what changed.
func (run *Run) Prepare(trainSet, testSet *dataset.Set) (tr, te *dataset.Set, notes []string, err error) {
	if p := &run.prepared; p.in == [2]*dataset.Set{trainSet, testSet} {
		return p.out[0], p.out[1], nil, nil
	}
	tr, te, notes, err = run.Recipe.Prepare(trainSet, testSet)
	if err == nil {
		run.prepared.in, run.prepared.out = [2]*dataset.Set{trainSet, testSet}, [2]*dataset.Set{tr, te}
	}
	return tr, te, notes, err
}

// Data is the training and test data the run uses (of prepared sets): the recipe's
// scaling, and its limits on the number of images.
func (run *Run) Data(trainSet, testSet *dataset.Set) (trainData, testData train.Data) {
	r := &run.Recipe
	return train.Subset(r.Data(trainSet), r.TrainLimit), train.Subset(r.Data(testSet), r.TestLimit)
}

// ErrCheckpoint is wrapped by Train's errors in writing a checkpoint.
var ErrCheckpoint = errors.New("recipe: writing the checkpoint")

func (run *Run) saveCheckpoint(o Options, ck train.Checkpoint, partial *train.Partial) error {
	if err := run.SaveCheckpoint(o.Checkpoint, o.Classes, ck, partial); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if o.Saved != nil {
		o.Saved(o.Checkpoint, len(ck.History), partial)
	}
	return nil
}

// SaveCheckpoint writes path atomically: the weights, the optimizer's state and the
// random source's now, after the epochs and best validation epoch in ck and, if an
// interruption cut one short, the partial epoch.
func (run *Run) SaveCheckpoint(path string, classes []string, ck train.Checkpoint, partial *train.Partial) error {
	hist := ck.History
	rng, err := run.source.MarshalBinary()
	if err != nil {
		return err
	}
	ost := run.Opt.State(run.Net.Params())
	st := State{Version: StateVersion, Recipe: run.Recipe, History: hist, Partial: partial, RNG: rng, Steps: ost.Steps}
	var best map[string][]float32
	if b := ck.Best; b != nil {
		st.BestEpoch, st.BestValAccuracy = b.Epoch, b.ValAccuracy
		if b.Weights != nil {
			best = map[string][]float32{}
			for i, p := range run.Net.State() {
				best[p.Name] = b.Weights[i]
			}
		}
	}
	if run.aug != nil {
		st.Augment = run.aug.State()
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var last train.Epoch
	if len(hist) > 0 {
		last = hist[len(hist)-1]
	}
	m := run.model(classes, len(hist), last.TrainAccuracy, last.TestAccuracy)
	return model.SaveCheckpoint(path, &model.Checkpoint{Model: m, Buffers: ost.Buffers, Best: best, State: state})
}

// Save writes the trained model to path atomically (a safetensors file that
// digitnet.Open reads), with res's summary in its metadata.
func (run *Run) Save(path string, classes []string, res train.Result) error {
	return model.Save(path, run.model(classes, res.EpochsDone, res.Train.Accuracy, res.Test.Accuracy))
}

// WriteModel writes the trained model to w, as Save writes it to a file.
func (run *Run) WriteModel(w io.Writer, classes []string, res train.Result) error {
	return model.Write(w, run.model(classes, res.EpochsDone, res.Train.Accuracy, res.Test.Accuracy))
}

// model wraps the run's network with its metadata.
func (run *Run) model(classes []string, epochs int, trainAcc, testAcc float64) *model.Model {
	r := &run.Recipe
	scale, offset := r.Scaling()
	rj, _ := json.Marshal(r)
	return &model.Model{Arch: r.Spec(), Net: run.Net, Input: model.Input{Scale: scale, Offset: offset},
		Dataset: r.Dataset, Classes: classes,
		Training: model.Summary{Preset: r.Preset, Epochs: epochs, Seed: r.Seed, TrainAccuracy: trainAcc,
			TestAccuracy: testAcc, Date: buildDate().Format(time.RFC3339), Optimizer: run.Opt.String()},
		Calibration: run.calibration, Recipe: rj}
}

// buildDate is now, or SOURCE_DATE_EPOCH when set (reproducible-builds.org's
// convention), so that the same run writes the same file.
func buildDate() time.Time {
	if s, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return time.Unix(s, 0).UTC()
	}
	return time.Now().UTC()
}

// checkSets refuses data sets a run cannot train or measure on: a missing one, one
// whose images, labels and classes do not agree, or a test set of other images than
// the training set's (its accuracy would mean nothing). A library caller's own sets
// get an error here rather than a panic deep in training.
func checkSets(trainSet, testSet *dataset.Set) error {
	for _, c := range []struct {
		name string
		s    *dataset.Set
	}{{"training", trainSet}, {"test", testSet}} {
		s := c.s
		if s == nil {
			return fmt.Errorf("%w: no %s set", ErrInvalid, c.name)
		}
		if s.N < 1 || s.Rows < 1 || s.Cols < 1 || len(s.Labels) != s.N || len(s.Images) != s.N*s.Rows*s.Cols {
			return fmt.Errorf("%w: the %s set has %d labels and %d pixel bytes for %d images of %d×%d", ErrInvalid, c.name, len(s.Labels), len(s.Images), s.N, s.Rows, s.Cols)
		}
		for i, l := range s.Labels {
			if int(l) >= len(trainSet.Classes) {
				return fmt.Errorf("%w: %s image %d has label %d, but the training set has %d classes", ErrInvalid, c.name, i, l, len(trainSet.Classes))
			}
		}
	}
	if testSet.Rows != trainSet.Rows || testSet.Cols != trainSet.Cols {
		return fmt.Errorf("%w: the test images are %d×%d, the training images %d×%d", ErrInvalid, testSet.Rows, testSet.Cols, trainSet.Rows, trainSet.Cols)
	}
	return nil
}
