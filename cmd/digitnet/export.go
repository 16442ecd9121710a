package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/digitnet/digitnet/internal/fsutil"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/onnx"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("model", "", "model file written by `train --out` (required)")
	out := fs.String("onnx", "", "write an ONNX model to FILE (required)")
	precision := fs.String("precision", "fp32", "fp32, or int8: the dense layers and convolutions quantized as `eval --precision int8` runs them (calibrated on 1,000 of the model's training images), written in QDQ form (QuantizeLinear/DequantizeLinear around each product)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: digitnet export --model M --onnx out.onnx\n\nWrites the model as ONNX (opset %d): input %q float32 [N,784] with pixels in [0,1]\n(the model's input normalization folded in), output %q float32 [N,classes].\n\nflags:\n", onnx.Opset, onnx.InputName, onnx.OutputName)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || *out == "" {
		return usageErr("--model FILE and --onnx FILE are both required")
	}
	if err := checkPrecision(*precision); err != nil {
		return err
	}
	m, err := model.Load(*path)
	if err != nil {
		return err
	}
	if *precision == "int8" { // needs no oneDNN: the file, not this machine, runs it
		if m, err = quantizeModel(ctx, m, stderr); err != nil {
			return err
		}
	}
	if err := fsutil.WriteFrom(*out, 0o644, func(w io.Writer) error { return onnx.Export(w, m) }); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fi, _ := os.Stat(*out)
	fmt.Fprintf(stdout, "wrote %s (%d bytes): ONNX opset %d, input %q [N,%d] in [0,1], output %q [N,%d], %s\n",
		*out, fi.Size(), onnx.Opset, onnx.InputName, m.Arch.InputSize(), onnx.OutputName, m.Arch.Outputs(), *precision)
	return nil
}
