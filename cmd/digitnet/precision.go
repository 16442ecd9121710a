package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
)

// calibrationImages is how many training images fit an int8 model's input ranges.
const calibrationImages = 1000

func precisionFlag(fs *flag.FlagSet) *string {
	return fs.String("precision", "fp32", "arithmetic of the products of dense layers and convolutions: fp32, or int8 (quantized per output channel, calibrated on 1,000 of the model's training images; needs a CPU with AVX-512 VNNI and oneDNN, otherwise a note and fp32)")
}

func checkPrecision(p string) error {
	if p != "fp32" && p != "int8" {
		return usageErr("--precision %q: want fp32 or int8", p)
	}
	return nil
}

// int8Ready reports whether int8 products run here; when they do not, it says so on
// log and the caller goes on in fp32.
func int8Ready(log io.Writer) bool {
	if err := kernels.Int8(); err != nil {
		fmt.Fprintf(log, "--precision int8: %v; running fp32\n", err)
		return false
	}
	return true
}

// calibration returns calibrationImages images spread evenly over the training set of
// the named data set (the one the model was trained on), as pixel bytes.
func calibration(ctx context.Context, name string, log io.Writer) ([]uint8, error) {
	if !slices.Contains(dataset.Names(), name) {
		return nil, usageErr("--precision int8 calibrates on the model's training images, and it was trained on %s data: use --precision fp32", name)
	}
	c := trainConfig{}
	c.Dataset = name
	train, _, err := c.loadData(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("--precision int8: calibration images: %w", err)
	}
	return calibrationFrom(train), nil
}

// calibrationFor returns the calibration images of a model trained on the data set
// trainedOn, evaluated on data evalOn whose training split is evalTrain: that split's
// when the two are the same data (a model of the user's own data included, read from
// --data), else the model's own data set's.
func calibrationFor(ctx context.Context, trainedOn, evalOn string, evalTrain *dataset.Set, log io.Writer) ([]uint8, error) {
	if evalOn == trainedOn || !slices.Contains(dataset.Names(), trainedOn) {
		return calibrationFrom(evalTrain), nil
	}
	return calibration(ctx, trainedOn, log)
}

// calibrationFrom returns calibrationImages images spread evenly over train.
func calibrationFrom(train *dataset.Set) []uint8 {
	n, d := min(calibrationImages, train.N), train.Rows*train.Cols
	out := make([]uint8, 0, n*d)
	for i := range n {
		j := i * train.N / n
		out = append(out, train.Images[j*d:(j+1)*d]...)
	}
	return out
}

// quantizeModel returns m's int8 form, calibrated on its training data set's images.
func quantizeModel(ctx context.Context, m *model.Model, log io.Writer) (*model.Model, error) {
	pixels, err := calibration(ctx, m.Dataset, log)
	if err != nil {
		return nil, err
	}
	return m.Quantized(pixels, len(pixels)/m.Arch.InputSize())
}
