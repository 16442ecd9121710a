package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/pretrained"
	"github.com/digitnet/digitnet/internal/report"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/train"
)

type evalReport struct {
	Model     string               `json:"model"`
	Dataset   string               `json:"dataset"`
	Examples  int                  `json:"examples"`
	Precision string               `json:"precision"` // of the products of dense layers and convolutions: fp32 or int8
	Accuracy  float64              `json:"accuracy"`
	Loss      float64              `json:"loss"`
	PerClass  []train.ClassMetrics `json:"per_class"`
	Confusion [][]int              `json:"confusion"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("model", "", "model file written by `train --out` (default: the pretrained model digitnet ships); several, comma-separated, are evaluated as an ensemble")
	name := fs.String("dataset", "", "data set to evaluate on (default: the one the model was trained on)")
	dir := fs.String("data", "", "the data to evaluate on: a directory of IDX files (any prefix, size, classes), or class folders DIR/test/<class>/*.png")
	prefix := fs.String("prefix", "", "with --data: the IDX files' name prefix")
	asJSON := fs.Bool("json", false, "print one JSON object")
	reportDir := fs.String("report", "", "write a report to DIR: confusion matrix, per-class metrics, worst mistakes, index.html")
	precision := precisionFlag(fs)
	weights := weightsFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkPrecision(*precision); err != nil {
		return err
	}
	if *path == "" {
		ens, err := pretrained.Ensemble()
		if err != nil {
			return err
		}
		if err := setWeights(ens, *weights); err != nil {
			return err
		}
		printPretrained(stderr)
		if *weights != "" {
			fmt.Fprintf(stderr, "  --weights: members weighed %s instead\n", strings.ReplaceAll(*weights, ",", " "))
		}
		return evalEnsemble(ctx, ens, pretrained.Name, *name, *dir, *prefix, *reportDir, *precision, commandLine("eval", args), *asJSON, stdout, stderr)
	}
	if paths := strings.Split(*path, ","); len(paths) > 1 {
		ens, err := model.LoadEnsemble(paths)
		if err != nil {
			return err
		}
		if err := setWeights(ens, *weights); err != nil {
			return err
		}
		return evalEnsemble(ctx, ens, *path, *name, *dir, *prefix, *reportDir, *precision, commandLine("eval", args), *asJSON, stdout, stderr)
	}
	if _, err := weightsFor(*weights, 1); err != nil {
		return err
	}
	m, err := model.Load(*path)
	if err != nil {
		return err
	}
	nn.SetCores(m.Arch, runtime.GOMAXPROCS(0))
	if *name == "" {
		*name = m.Dataset
	}
	trainSet, test, err := loadEvalData(ctx, *name, *dir, *prefix, *path, stderr)
	if err != nil {
		return err
	}
	*name = test.Name
	if test.Rows*test.Cols != m.Arch.InputSize() || len(test.Classes) != len(m.Classes) {
		return fmt.Errorf("model %s takes %d inputs and %d classes; %s has %d pixels and %d classes",
			*path, m.Arch.InputSize(), len(m.Classes), *name, test.Rows*test.Cols, len(test.Classes))
	}
	used := "fp32"
	if *precision == "int8" && int8Ready(stderr) {
		pixels, err := calibrationFor(ctx, m.Dataset, *name, trainSet, stderr)
		if err != nil {
			return err
		}
		if m, err = m.Quantized(pixels, len(pixels)/m.Arch.InputSize()); err != nil {
			return err
		}
		used = "int8"
	}
	data := &train.Bytes{Pixels: test.Images, Labels: test.Labels, ExampleShape: m.Arch.Input, Scale: m.Input.Scale, Offset: m.Input.Offset}
	met := train.Evaluate(m.Net, data, m.Arch.EvalBatch())
	rep := evalReport{Model: *path, Dataset: *name, Examples: test.N, Precision: used, Accuracy: met.Accuracy, Loss: met.Loss, Confusion: met.Confusion}
	rep.PerClass, _ = train.PerClass(met.Confusion, m.Classes) // square, as Evaluate made it
	if *reportDir != "" {
		r := report.Report{
			Title: "digitnet eval — " + *path,
			Summary: [][2]string{
				{"accuracy", fmt.Sprintf("%.2f%% (%d/%d)", 100*met.Accuracy, train.Correct(met.Confusion), test.N)},
				{"mean loss", fmt.Sprintf("%.4f", met.Loss)},
				{"network", m.Net.String()},
				{"data", fmt.Sprintf("%s test set, %d images", *name, test.N)},
				{"trained", fmt.Sprintf("%s, %d epochs, seed %d, %s", m.Dataset, m.Training.Epochs, m.Training.Seed, m.Training.Date)},
				{"command", commandLine("eval", args)},
			},
			Classes: m.Classes, Confusion: met.Confusion, Worst: worstDigits(m.Net, data, test, 24),
		}
		if err := report.Write(*reportDir, r); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", filepath.Join(*reportDir, report.IndexHTML))
	}
	if *asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "model %s (%s, trained on %s): %s test set, %d images, %s products\n", *path, m.Net, m.Dataset, *name, test.N, used)
	fmt.Fprintf(stdout, "accuracy %.2f%% (%d/%d), mean loss %.4f\n\n", 100*met.Accuracy, train.Correct(met.Confusion), test.N, met.Loss)
	fmt.Fprintln(stdout, "class            precision  recall     f1  support")
	for _, c := range rep.PerClass {
		fmt.Fprintf(stdout, "%-2d %-12s %9.4f %7.4f %6.4f %8d\n", c.Class, c.Name, c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintln(stdout)
	printConfusion(stdout, met.Confusion, m.Classes)
	return nil
}

// evalEnsemble evaluates the mean probabilities of several models on a test set.
// With reportDir it also writes the report there, as for one model.
func evalEnsemble(ctx context.Context, ens *model.Ensemble, label, name, dir, prefix, reportDir, precision, command string, asJSON bool, stdout, stderr io.Writer) error {
	for _, m := range ens.Models { // one convolutional member makes it worth the workers
		if m.Arch.Convolutional() {
			nn.SetCores(m.Arch, runtime.GOMAXPROCS(0))
			break
		}
	}
	if name == "" {
		name = ens.Models[0].Dataset
	}
	trainSet, test, err := loadEvalData(ctx, name, dir, prefix, label, stderr)
	if err != nil {
		return err
	}
	name = test.Name
	if test.Rows*test.Cols != ens.Models[0].Arch.InputSize() || len(test.Classes) != len(ens.Classes()) {
		return fmt.Errorf("the ensemble takes %d inputs and %d classes; %s has %d pixels and %d classes",
			ens.Models[0].Arch.InputSize(), len(ens.Classes()), name, test.Rows*test.Cols, len(test.Classes))
	}
	used := "fp32"
	if precision == "int8" && int8Ready(stderr) {
		pixels, err := calibrationFor(ctx, ens.Models[0].Dataset, name, trainSet, stderr)
		if err != nil {
			return err
		}
		if ens, err = ens.Quantized(pixels, len(pixels)/ens.Models[0].Arch.InputSize()); err != nil {
			return err
		}
		used = "int8"
	}
	acc, loss, conf := ens.Evaluate(test.Images, test.Labels)
	rep := evalReport{Model: label, Dataset: name, Examples: test.N, Precision: used, Accuracy: acc, Loss: loss, Confusion: conf}
	rep.PerClass, _ = train.PerClass(conf, ens.Classes())
	if reportDir != "" {
		members := make([]string, len(ens.Models))
		for i, m := range ens.Models {
			members[i] = fmt.Sprintf("%s: %s", ens.Names[i], m.Net)
		}
		r := report.Report{
			Title: "digitnet eval — " + label,
			Summary: [][2]string{
				{"accuracy", fmt.Sprintf("%.2f%% (%d/%d)", 100*acc, train.Correct(conf), test.N)},
				{"mean loss", fmt.Sprintf("%.4f", loss)},
				{"network", fmt.Sprintf("ensemble of %d (mean of their probabilities): %s", len(ens.Models), strings.Join(members, "; "))},
				{"data", fmt.Sprintf("%s test set, %d images", name, test.N)},
				{"command", command},
			},
			Classes: ens.Classes(), Confusion: conf, Worst: ensembleMistakes(ens, test, 24),
		}
		if err := report.Write(reportDir, r); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", filepath.Join(reportDir, report.IndexHTML))
	}
	if asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "ensemble of %d models on the %s test set (%s products): accuracy %.2f%% (%d/%d), mean loss %.4f\n",
		len(ens.Models), name, used, 100*acc, train.Correct(conf), test.N, loss)
	for i, m := range ens.Models {
		fmt.Fprintf(stdout, "  %s: %s\n", ens.Names[i], m.Net)
	}
	printConfusion(stdout, conf, ens.Classes())
	return nil
}

// ensembleMistakes returns the ensemble's n most confident mistakes on set, as
// train.Mistakes does for one network.
func ensembleMistakes(ens *model.Ensemble, set *dataset.Set, n int) []report.Digit {
	var wrong []train.Mistake
	d := set.Rows * set.Cols
	for lo := 0; lo < set.N; lo += 1000 {
		b := min(1000, set.N-lo)
		p := ens.Predict(set.Images[lo*d:(lo+b)*d], b)
		K := p.Cols()
		for i := range b {
			row := p.Data[i*K : (i+1)*K]
			if c, t := ens.Class(row), int(set.Labels[lo+i]); c != t {
				wrong = append(wrong, train.Mistake{Index: lo + i, True: t, Predicted: c, Probability: float64(nn.ClassProb(row, c))})
			}
		}
	}
	return digitsOf(train.Worst(wrong, n), set)
}

// loadEvalData reads the data to evaluate model on, its training split (int8's
// calibration images) and its test split: the data --data names (as train reads it),
// or the data set the model was trained on.
func loadEvalData(ctx context.Context, name, dir, prefix, model string, log io.Writer) (trainSet, test *dataset.Set, err error) {
	if dir == "" && (name == dataset.FolderName || !slices.Contains(dataset.Names(), name)) {
		return nil, nil, usageErr("model %s was trained on %s data: name it with --data DIR", model, name)
	}
	c := trainConfig{DataDir: dir, Prefix: prefix}
	c.Dataset = name
	return c.loadData(ctx, log)
}
