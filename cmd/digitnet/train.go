package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/fsutil"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/report"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/recipe"
	"github.com/digitnet/digitnet/train"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c trainConfig
	trainFlags(fs, &c)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: digitnet train [flags]\n\nTrains a network and reports cost, train and test accuracy per epoch.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := resolve(fs, &c); err != nil {
		return err
	}
	var run *recipe.Run
	var err error
	if c.Resume != "" {
		if run, err = resumeRun(fs, &c); err != nil {
			return err
		}
	}
	if err := c.checkOutputs(); err != nil {
		return err
	}

	// Human-readable lines go to stdout, unless stdout carries JSON.
	human := stdout
	var jw *jsonWriter
	if c.JSON {
		human = stderr
		jw = &jsonWriter{w: stdout}
	}

	loadStart := time.Now()
	rawTrain, rawTest, err := c.loadData(ctx, stderr)
	if err == nil {
		rawTrain, err = c.addExtra(ctx, rawTrain, stderr)
	}
	var outliers *dataset.Set
	if err == nil {
		outliers, err = c.loadOutliers(ctx, stderr)
	}
	if err != nil {
		return err
	}
	loadSecs := time.Since(loadStart).Seconds()
	if run == nil {
		if err := c.Fit(rawTrain, flagSet(fs)); err != nil {
			return flagError(err)
		}
		if run, err = recipe.New(c.Recipe); err != nil {
			return flagError(err)
		}
	}
	trainSet, testSet, notes, err := run.Prepare(rawTrain, rawTest)
	if err != nil {
		return flagError(err)
	}
	for _, n := range notes {
		fmt.Fprintf(human, "data: %s\n", n)
	}
	if err := c.CheckData(trainSet); err != nil {
		return flagError(err)
	}
	spec := c.Spec()
	nn.SetCores(spec, c.Threads)
	algo, _ := nn.ParseConvAlgorithm(c.Conv) // validated; the run has set it
	precision, err := run.Precision()
	if err != nil {
		fmt.Fprintf(stderr, "--precision bf16: %v; training in fp32\n", err)
	} else if precision == "bf16" && c.Batch == 1 {
		fmt.Fprintln(stderr, "--precision bf16 with --batch 1: dense layers run a batch of one in fp32 (bf16 pays on batches); convolutions run bf16")
	}
	trainData, testData := run.Data(trainSet, testSet)

	net := run.Net
	fmt.Fprintf(human, "data: %s, %d train / %d test images, loaded in %.2fs\n", c.Dataset, trainData.Len(), testData.Len(), loadSecs)
	fmt.Fprintf(human, "network (preset %s): %s\n", c.Preset, net)
	fmt.Fprintf(human, "training: %s, batch %d, %d epochs, %s schedule, input %s, shuffle %v, seed %d, %d threads, %s products, fp32 math by %s%s\n",
		run.Opt, c.Batch, c.Epochs, c.Schedule, c.Input, c.Shuffle, c.Seed, c.Threads, precision, kernels.Products(), convNote(spec, algo, precision, stderr))
	if c.Augment != "none" {
		fmt.Fprintf(human, "augmentation: %s\n", c.augmentation())
	}
	switch p := run.Partial(); {
	case p != nil:
		fmt.Fprintf(human, "resuming from %s in epoch %d of %d, after %d of its %d examples\n", c.Resume, p.Epoch, c.Epochs, p.Done, trainData.Len()-c.Val)
	case len(run.History()) > 0:
		fmt.Fprintf(human, "resuming from %s after epoch %d of %d\n", c.Resume, len(run.History()), c.Epochs)
	}
	opts := recipe.Options{Recorder: &reporter{mode: progressMode(c.Progress, stderr), errw: stderr, lines: human, json: jw}, Outliers: outliers}
	if c.Checkpoint != "" {
		opts.Checkpoint = filepath.Join(c.Checkpoint, checkpointFile)
		opts.Saved = func(path string, epochs int, partial *train.Partial) {
			if partial != nil {
				fmt.Fprintf(human, "checkpoint: epoch %d stopped after %d examples, saved to %s\n", partial.Epoch, partial.Done, path)
			} else {
				fmt.Fprintf(human, "checkpoint: epoch %d saved to %s\n", epochs, path)
			}
		}
	}
	if c.CPUProfile != "" {
		stopProfile, err := startProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	res, err := run.Train(ctx, rawTrain, rawTest, opts)
	var fe *recipe.FieldError
	switch {
	case errors.Is(err, recipe.ErrCheckpoint):
		return fmt.Errorf("--checkpoint %s: %w", c.Checkpoint, err)
	case errors.As(err, &fe):
		return flagError(err)
	case err != nil:
		return err
	}
	// What the run made is saved before anything else is reported: a failure below must
	// not lose the trained weights.
	if c.Out != "" {
		if err := saveModel(c.Out, run, trainSet.Classes, res); err != nil {
			return err
		}
	}
	if c.Val > 0 {
		stop := ""
		if res.EarlyStopped {
			stop = fmt.Sprintf(", stopped early after %d epochs without improvement", c.Patience)
		}
		if c.KeepLast {
			fmt.Fprintf(human, "kept the last epoch's weights (--keep-last); the best validation accuracy was epoch %d's, %.2f%%%s\n", res.BestEpoch, 100*res.History[res.BestEpoch-1].ValAccuracy, stop)
		} else {
			fmt.Fprintf(human, "kept the weights of epoch %d, best validation accuracy %.2f%%%s\n", res.BestEpoch, 100*res.History[res.BestEpoch-1].ValAccuracy, stop)
		}
	}
	if res.Interrupted {
		fmt.Fprintf(human, "interrupted after %d complete epochs; final report for the weights reached\n", res.EpochsDone)
	}
	for _, err := range net.BF16Refused() {
		fmt.Fprintf(stderr, "--precision bf16: %v; that convolution trained in fp32\n", err)
	}
	if jw != nil {
		jw.done(res)
		if jw.err != nil {
			return fmt.Errorf("writing JSON: %w", jw.err)
		}
	}
	fmt.Fprintf(human, "test accuracy: %.2f%% (%d/%d), train accuracy %.2f%%, %.1fs training\n",
		100*res.Test.Accuracy, train.Correct(res.Test.Confusion), testData.Len(), 100*res.Train.Accuracy, res.Seconds)
	printConfusion(human, res.Test.Confusion, trainSet.Classes)
	if cal := run.Calibration(); cal != nil {
		fmt.Fprintf(human, "calibration on the %d validation images: temperature %.3f, expected calibration error %.2f%% → %.2f%%; answers under %.3f confidence are withheld (%.2f%% of them)\n",
			cal.Examples, cal.Temperature, 100*cal.ECEBefore, 100*cal.ECEAfter, cal.MinConfidence, 100*cal.Abstain)
	}
	if c.History != "" {
		if err := train.WriteHistory(c.History, res.History); err != nil {
			return fmt.Errorf("--history %s: %w", c.History, err)
		}
		fmt.Fprintf(human, "history written to %s\n", c.History)
	}
	if c.Out != "" {
		fmt.Fprintf(human, "model saved to %s\n", c.Out)
	}
	if c.Report != "" {
		r := report.Report{
			Title: "digitnet train — " + spec.Summary(),
			Summary: [][2]string{
				{"test accuracy", fmt.Sprintf("%.2f%% (%d/%d)", 100*res.Test.Accuracy, train.Correct(res.Test.Confusion), testData.Len())},
				{"train accuracy", fmt.Sprintf("%.2f%%", 100*res.Train.Accuracy)},
				{"epochs", fmt.Sprintf("%d of %d, %.1f s of training", res.EpochsDone, c.Epochs, res.Seconds)},
				{"network", net.String()},
				{"optimizer", fmt.Sprintf("%s, batch %d, %s schedule", run.Opt, c.Batch, c.Schedule)},
				{"data", fmt.Sprintf("%s: %d train, %d test images, input %s", c.Dataset, trainData.Len(), testData.Len(), c.Input)},
				{"seed", fmt.Sprint(c.Seed)},
				{"command", commandLine("train", args)},
			},
			History: res.History, Classes: trainSet.Classes, Confusion: res.Test.Confusion,
			Worst: worstDigits(net, testData, testSet, 24),
		}
		if err := report.Write(c.Report, r); err != nil {
			return fmt.Errorf("--report %s: %w", c.Report, err)
		}
		fmt.Fprintf(human, "report written to %s\n", filepath.Join(c.Report, report.IndexHTML))
	}
	if res.Interrupted {
		return interruptedExit(ctx)
	}
	return nil
}

// saveModel writes the run's model to path. If that fails (a full disk, a read-only
// directory), it saves the model in the temporary directory instead, so that the
// weights a long run made are not lost, and the error says where they are.
func saveModel(path string, run *recipe.Run, classes []string, res train.Result) error {
	err := run.Save(path, classes, res)
	if err == nil {
		return nil
	}
	rescue, rerr := os.CreateTemp("", "digitnet-rescued-*.safetensors")
	if rerr == nil {
		rescue.Close()
		if rerr = run.Save(rescue.Name(), classes, res); rerr == nil {
			return fmt.Errorf("--out %s: %w; the trained model was saved to %s instead", path, err, rescue.Name())
		}
		os.Remove(rescue.Name())
	}
	return fmt.Errorf("--out %s: %w (saving it to the temporary directory failed too: %v)", path, err, rerr)
}

// checkOutputs fails before any training when a file the run will write cannot be
// created: better now than after an hour of training.
func (c *trainConfig) checkOutputs() error {
	for _, o := range []struct {
		flag, value string
		isDir       bool
	}{{"out", c.Out, false}, {"history", c.History, false}, {"checkpoint", c.Checkpoint, true}, {"report", c.Report, true}} {
		if o.value == "" {
			continue
		}
		dir := o.value
		if !o.isDir {
			dir = filepath.Dir(o.value)
		}
		if err := fsutil.CheckWritable(dir); err != nil {
			return fmt.Errorf("--%s %s: %w", o.flag, o.value, err)
		}
	}
	return nil
}

// convNote is the training line's word on a convolutional network's algorithm, and says
// on stderr when --conv direct cannot have what it asked for.
func convNote(spec nn.Spec, algo nn.ConvAlgorithm, precision string, stderr io.Writer) string {
	if !spec.Convolutional() {
		return ""
	}
	if precision == "bf16" {
		return ", convolutions by oneDNN in bf16"
	}
	err := kernels.ConvF32()
	switch {
	case algo == nn.ConvDirect && err != nil:
		fmt.Fprintf(stderr, "--conv direct: %v; training with Winograd and im2col (--conv auto)\n", err)
		return ", convolutions: Winograd and im2col"
	case algo == nn.ConvAuto && err == nil:
		return ", convolutions: auto (in training, oneDNN's direct convolution for the layers where it is faster)"
	case algo == nn.ConvDirect && err == nil:
		return ", convolutions: direct (oneDNN's, in training)"
	}
	return fmt.Sprintf(", convolutions: %s", algo)
}

// startProfile starts a CPU profile written to path; the returned func stops it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func printConfusion(w io.Writer, conf [][]int, classes []string) {
	if len(conf) == 0 {
		return
	}
	fmt.Fprintln(w, "confusion matrix (rows: true class, columns: predicted)")
	var b strings.Builder
	b.WriteString("      ")
	for k := range conf {
		fmt.Fprintf(&b, "%6d", k)
	}
	fmt.Fprintln(w, b.String())
	for t, row := range conf {
		b.Reset()
		fmt.Fprintf(&b, "%5d ", t)
		for _, v := range row {
			fmt.Fprintf(&b, "%6d", v)
		}
		if len(classes) == len(conf) && classes[t] != fmt.Sprint(t) {
			fmt.Fprintf(&b, "  %s", classes[t])
		}
		fmt.Fprintln(w, b.String())
	}
}

// jsonWriter writes the machine-readable stream of `train --json`: one object per line.
type jsonWriter struct {
	w   io.Writer
	err error
}

type jsonEvent struct {
	Event string `json:"event"`
	train.Epoch
	Interrupted *bool   `json:"interrupted,omitempty"`
	Confusion   [][]int `json:"confusion,omitempty"`
}

func (j *jsonWriter) write(v any) {
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, err = j.w.Write(append(b, '\n'))
	}
	j.err = err
}

func (j *jsonWriter) epoch(e train.Epoch) { j.write(jsonEvent{Event: "epoch", Epoch: e}) }

func (j *jsonWriter) done(res train.Result) {
	interrupted := res.Interrupted
	e := train.Epoch{Epoch: res.EpochsDone, Loss: res.LastLoss, TrainAccuracy: res.Train.Accuracy,
		TestAccuracy: res.Test.Accuracy, TestLoss: res.Test.Loss, Seconds: res.Seconds}
	if n := len(res.History); n > 0 {
		e.LR = res.History[n-1].LR
	}
	j.write(jsonEvent{Event: "done", Epoch: e, Interrupted: &interrupted, Confusion: res.Test.Confusion})
}
