package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/fsutil"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/report"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
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
	var r *trainRun
	var err error
	if c.Resume != "" {
		r, err = resumeRun(fs, &c)
	} else {
		r, err = newRun(&c)
	}
	if err != nil {
		return err
	}
	if err := c.checkOutputs(); err != nil {
		return err
	}
	useCores(c.spec(), c.Threads)
	algo, _ := nn.ParseConvAlgorithm(c.Conv) // validated
	r.net.SetConvAlgorithm(algo)

	// Human-readable lines go to stdout, unless stdout carries JSON.
	human := stdout
	var jw *jsonWriter
	if c.JSON {
		human = stderr
		jw = &jsonWriter{w: stdout}
	}

	loadStart := time.Now()
	trainRaw, testRaw, err := c.loadData(ctx, stderr)
	if err != nil {
		return err
	}
	loadSecs := time.Since(loadStart).Seconds()
	trainSet, testSet := c.dataFor(trainRaw), c.dataFor(testRaw)
	trainData := train.Subset(trainSet, c.TrainLimit)
	testData := train.Subset(testSet, c.TestLimit)

	net, opt := r.net, r.opt
	fmt.Fprintf(human, "data: %s, %d train / %d test images, loaded in %.2fs\n", c.Dataset, trainData.Len(), testData.Len(), loadSecs)
	fmt.Fprintf(human, "network (preset %s): %s\n", c.Preset, net)
	fmt.Fprintf(human, "training: %s, batch %d, %d epochs, %s schedule, input %s, shuffle %v, seed %d, %s backend with %d threads\n",
		opt, c.Batch, c.Epochs, c.Schedule, c.Input, c.Shuffle, c.Seed, kernels.Backend, c.Threads)

	rec := &reporter{mode: progressMode(c.Progress, stderr), errw: stderr, lines: human, json: jw}
	cfg := train.Config{Epochs: c.Epochs, BatchSize: c.Batch, EvalBatch: c.spec().EvalBatch(), Shuffle: c.Shuffle, Schedule: c.schedule(),
		RunningTrainAccuracy: c.TrainEval == "running", Resume: r.history, ResumePartial: r.partial}
	if c.Val > 0 {
		if c.Val >= trainData.Len() {
			return usageErr("--val %d leaves no training images (there are %d)", c.Val, trainData.Len())
		}
		n := trainData.Len() - c.Val
		cfg.Val = train.Window(trainData, n, c.Val)
		trainData = train.Subset(trainData, n)
		cfg.Patience, cfg.KeepBest = c.Patience, true
	}
	if c.Augment != "none" {
		// Distort the training images on the fly; train accuracy is measured on the
		// undistorted ones.
		n := trainData.Len()
		d := tensor.Size(trainSet.ExampleShape)
		plain := &train.Bytes{Pixels: trainSet.Pixels[:n*d], Labels: trainSet.Labels[:n], ExampleShape: trainSet.ExampleShape, Scale: trainSet.Scale, Offset: trainSet.Offset}
		r.aug = augment.New(plain, augmentations[c.Augment], c.Seed)
		r.aug.SetState(r.augState)
		cfg.TrainEval, trainData = plain, r.aug
		fmt.Fprintf(human, "augmentation: %s %+v\n", c.Augment, augmentations[c.Augment])
	}
	switch {
	case r.partial != nil:
		fmt.Fprintf(human, "resuming from %s in epoch %d of %d, after %d of its %d examples\n", c.Resume, r.partial.Epoch, c.Epochs, r.partial.Done, trainData.Len())
	case len(r.history) > 0:
		fmt.Fprintf(human, "resuming from %s after epoch %d of %d\n", c.Resume, len(r.history), c.Epochs)
	}
	if c.Checkpoint != "" {
		cfg.AfterEpoch = func(hist []train.Epoch) error { return r.saveCheckpoint(&c, trainRaw.Classes, hist, nil, human) }
	}
	if c.CPUProfile != "" {
		stopProfile, err := startProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	res, err := train.Run(ctx, net, opt, trainData, testData, cfg, r.pcg, rec)
	if err != nil {
		return err
	}
	// What the run made is saved before anything else is reported: a failure below must
	// not lose the trained weights.
	if c.Out != "" {
		m := r.model(&c, trainRaw.Classes, res.EpochsDone, res.Train.Accuracy, res.Test.Accuracy)
		if err := saveModel(c.Out, m); err != nil {
			return err
		}
	}
	if c.Checkpoint != "" && res.Partial != nil {
		if err := r.saveCheckpoint(&c, trainRaw.Classes, res.History, res.Partial, human); err != nil {
			return err
		}
	}
	if c.Val > 0 {
		stop := ""
		if res.EarlyStopped {
			stop = fmt.Sprintf(", stopped early after %d epochs without improvement", c.Patience)
		}
		fmt.Fprintf(human, "kept the weights of epoch %d, best validation accuracy %.2f%%%s\n", res.BestEpoch, 100*res.History[res.BestEpoch-1].ValAccuracy, stop)
	}
	if res.Interrupted {
		fmt.Fprintf(human, "interrupted after %d complete epochs; final report for the weights reached\n", res.EpochsDone)
	}
	if jw != nil {
		jw.done(res)
		if jw.err != nil {
			return fmt.Errorf("writing JSON: %w", jw.err)
		}
	}
	fmt.Fprintf(human, "test accuracy: %.2f%% (%d/%d), train accuracy %.2f%%, %.1fs training\n",
		100*res.Test.Accuracy, correct(res.Test.Confusion), testData.Len(), 100*res.Train.Accuracy, res.Seconds)
	printConfusion(human, res.Test.Confusion, trainRaw.Classes)
	if c.History != "" {
		if err := writeHistory(c.History, res.History); err != nil {
			return err
		}
		fmt.Fprintf(human, "history written to %s\n", c.History)
	}
	if c.Out != "" {
		fmt.Fprintf(human, "model saved to %s\n", c.Out)
	}
	if c.Report != "" {
		r := report.Report{
			Title: "digitnet train — " + describe(c.spec()),
			Summary: [][2]string{
				{"test accuracy", fmt.Sprintf("%.2f%% (%d/%d)", 100*res.Test.Accuracy, correct(res.Test.Confusion), testData.Len())},
				{"train accuracy", fmt.Sprintf("%.2f%%", 100*res.Train.Accuracy)},
				{"epochs", fmt.Sprintf("%d of %d, %.1f s of training", res.EpochsDone, c.Epochs, res.Seconds)},
				{"network", net.String()},
				{"optimizer", fmt.Sprintf("%s, batch %d, %s schedule", opt, c.Batch, c.Schedule)},
				{"data", fmt.Sprintf("%s: %d train, %d test images, input %s", c.Dataset, trainData.Len(), testData.Len(), c.Input)},
				{"seed", fmt.Sprint(c.Seed)},
				{"command", commandLine("train", args)},
			},
			History: historyOf(res.History), Classes: trainRaw.Classes, Confusion: res.Test.Confusion,
			Worst: worstDigits(net, testData, testRaw.Images, 24),
		}
		if err := report.Write(c.Report, withMetrics(r)); err != nil {
			return fmt.Errorf("--report %s: %w", c.Report, err)
		}
		fmt.Fprintf(human, "report written to %s\n", filepath.Join(c.Report, report.IndexHTML))
	}
	if res.Interrupted {
		return interruptedExit(ctx)
	}
	return nil
}

// saveModel writes m to path. If that fails (a full disk, a read-only directory), it
// saves m in the temporary directory instead, so that the weights a long run made are
// not lost, and the error says where they are.
func saveModel(path string, m *model.Model) error {
	err := model.Save(path, m)
	if err == nil {
		return nil
	}
	rescue, rerr := os.CreateTemp("", "digitnet-rescued-*.safetensors")
	if rerr == nil {
		rescue.Close()
		if rerr = model.Save(rescue.Name(), m); rerr == nil {
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

// dataFor maps a decoded set to training data with the configured pixel scaling.
func (c *trainConfig) dataFor(s *dataset.Set) *train.Bytes {
	scale, offset := c.scaling()
	return &train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: c.spec().Input, Scale: scale, Offset: offset}
}

// schedule returns the per-epoch learning rate, or nil for a constant one.
func (c *trainConfig) schedule() func(int) float64 {
	lr, n := c.LR, float64(c.Epochs)
	// cosine from lr at epoch `from` (1-based) to ~0 at the end, evaluated at the start
	// of each epoch.
	cosine := func(epoch int, from float64) float64 {
		return lr * 0.5 * (1 + math.Cos(math.Pi*(float64(epoch)-from)/(n-from+1)))
	}
	switch c.Schedule {
	case "cosine":
		return func(epoch int) float64 { return cosine(epoch, 1) }
	case "step":
		return func(epoch int) float64 {
			f := float64(epoch-1) / n
			switch {
			case f >= 0.75:
				return lr / 100
			case f >= 0.5:
				return lr / 10
			}
			return lr
		}
	case "warmup":
		w := float64(c.Warmup)
		return func(epoch int) float64 {
			if float64(epoch) <= w {
				return lr * float64(epoch) / (w + 1)
			}
			return cosine(epoch, w+1)
		}
	case "onecycle":
		up := math.Max(math.Round(0.3*n), 1)
		return func(epoch int) float64 {
			if float64(epoch) <= up {
				return lr/25 + (lr-lr/25)*float64(epoch-1)/up
			}
			return cosine(epoch, up+1)
		}
	}
	return nil
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

func correct(conf [][]int) int {
	n := 0
	for k := range conf {
		n += conf[k][k]
	}
	return n
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
