package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	dn "github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/internal/model"
)

// prediction is one line of `predict --json`.
// Digit is null when the model withholds its answer, with the reason; guess is then
// its most probable class, if the network ran.
type prediction struct {
	File        string      `json:"file"`
	Digit       *int        `json:"digit"`
	Class       string      `json:"class,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Guess       *int        `json:"guess,omitempty"`
	Probability float64     `json:"probability,omitempty"` // the confidence: the most probable class's probability
	Top         []topChoice `json:"top,omitempty"`
	Error       string      `json:"error,omitempty"`
	pixels      []uint8
}

type topChoice struct {
	Digit       int     `json:"digit"`
	Class       string  `json:"class,omitempty"`
	Probability float64 `json:"probability"`
}

// imageExts are the files a directory argument contributes.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

func runPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("model", "", "model file written by `train --out` (default: the pretrained model digitnet ships); several, comma-separated, predict as an ensemble")
	asJSON := fs.Bool("json", false, "print one JSON object per input file")
	show := fs.Bool("show", false, "print the 28×28 image the network saw, as text")
	top := fs.Int("top", 3, "how many of the most likely classes to list")
	floor := fs.Float64("min-confidence", -1, "withhold answers less probable than this (\"low confidence\"); default: the model's calibrated floor")
	weights := weightsFlag(fs)
	precision := precisionFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: digitnet predict [--model M] [--json] [--show] FILE|DIR...\n\nPredicts the digit in each PNG, JPEG or GIF image (a directory: the images in it).\n\nflags:")
		fs.PrintDefaults()
	}
	images, err := parseImageArgs(fs, args)
	if err != nil {
		return err
	}
	if len(images) == 0 {
		return usageErr("no images given: name image files or directories")
	}
	if *top < 1 {
		return usageErr("--top %d: want at least 1", *top)
	}
	if err := checkPrecision(*precision); err != nil {
		return err
	}
	m, err := openModel(*path, *floor, *weights)
	if err != nil {
		return err
	}
	if *precision == "int8" && int8Ready(stderr) {
		pixels, err := calibration(ctx, m.Info().Dataset, stderr)
		if err != nil {
			return err
		}
		if m, err = m.Quantized(pixels); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "digitnet: "))
		}
	}
	if n := m.InputSize(); n != 784 {
		return fmt.Errorf("model %s takes %d inputs, not a 28×28 image", *path, n)
	}
	inputs := expandImages(images)
	failed := 0
	for _, in := range inputs {
		if ctx.Err() != nil {
			break
		}
		p := prediction{File: in.file}
		if in.err != nil {
			p.Error = in.err.Error()
		} else {
			p = predictFile(m, in.file, *top)
		}
		if p.Error != "" {
			failed++
		}
		emitPrediction(stdout, stderr, p, *asJSON, *show)
	}
	if failed > 0 {
		if !*asJSON {
			fmt.Fprintf(stderr, "digitnet predict: %d of %d inputs failed\n", failed, len(inputs))
		}
		return exitError{1}
	}
	return nil
}

// input is one image to predict, or why an argument gave none.
type input struct {
	file string
	err  error
}

// expandImages turns the arguments, in order, into images: files as given, directories
// as the image files directly in them, sorted by name.
func expandImages(args []string) []input {
	var out []input
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			out = append(out, input{a, err})
			continue
		}
		if !fi.IsDir() {
			out = append(out, input{a, nil})
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			out = append(out, input{a, err})
			continue
		}
		n := 0
		for _, e := range entries {
			if !e.IsDir() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
				out = append(out, input{filepath.Join(a, e.Name()), nil})
				n++
			}
		}
		if n == 0 {
			out = append(out, input{a, fmt.Errorf("no %s images in the directory", strings.Join(imageExts, "/"))})
		}
	}
	return out
}

// openModel opens the model --model names (several, comma-separated: an ensemble that
// averages their probabilities), or the pretrained one; floor ≥ 0 replaces its
// confidence floor, weights (--weights) its members' weights.
func openModel(path string, floor float64, weights string) (*dn.Model, error) {
	var m *dn.Model
	var err error
	if path == "" {
		m, err = dn.Default()
	} else {
		m, err = dn.OpenEnsemble(strings.Split(path, ",")...)
	}
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "digitnet: "))
	}
	w, err := weightsFor(weights, len(m.Info().Files))
	if err != nil {
		return nil, err
	}
	if w != nil {
		if m, err = m.WithWeights(w...); err != nil {
			return nil, weightsErr(weights, err)
		}
	}
	if floor >= 0 {
		m = m.WithMinConfidence(floor)
	}
	return m, nil
}

// weightsFlag is --weights: an ensemble's members weighed in its average.
func weightsFlag(fs *flag.FlagSet) *string {
	return fs.String("weights", "", "weigh an ensemble's members in its average, one number each in --model's order, comma-separated (default: equal; the pretrained model's are fitted)")
}

// weightsFor reads --weights (comma-separated numbers) for a model of members
// networks: nil for none given, a usage error for a single model or a word that is
// not a number. Whether they suit the members is the ensemble's to say (weightsErr).
func weightsFor(spec string, members int) ([]float64, error) {
	if spec == "" {
		return nil, nil
	}
	if members < 2 {
		return nil, usageErr("--weights: --model names one model, not an ensemble")
	}
	var w []float64
	for _, f := range strings.Split(spec, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, usageErr("--weights %s: %q is not a number", spec, f)
		}
		w = append(w, v)
	}
	return w, nil
}

// setWeights gives ens the weights --weights spec names (none: as it was).
func setWeights(ens *model.Ensemble, spec string) error {
	w, err := weightsFor(spec, len(ens.Models))
	if err != nil || w == nil {
		return err
	}
	if err := ens.SetWeights(w); err != nil {
		return weightsErr(spec, err)
	}
	return nil
}

// weightsErr is the usage error for weights the ensemble refused (wrong count, negative…).
func weightsErr(spec string, err error) error {
	_, why, _ := strings.Cut(err.Error(), "ensemble: ")
	return usageErr("--weights %s: %s", spec, why)
}

// openImage decodes an image file (PNG, JPEG or GIF, size-checked before decoding).
func openImage(file string) (image.Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return dn.DecodeImage(f)
}

// predictFile reads, preprocesses and classifies one image; problems go in Error.
func predictFile(m *dn.Model, file string, top int) prediction {
	p := prediction{File: file}
	fail := func(err error) prediction {
		p.Error = strings.TrimPrefix(err.Error(), "digitnet: ")
		return p
	}
	img, err := openImage(file)
	if err != nil {
		return fail(err)
	}
	got, err := m.PredictImage(img)
	if err != nil {
		return fail(err)
	}
	p.pixels, p.Reason = got.Input, got.Reason
	if got.Guess < 0 { // nothing to classify
		return p
	}
	classes := m.Classes()
	best := got.Guess
	p.Probability = got.Confidence
	if got.Digit >= 0 {
		p.Digit = &best
		if classes[best] != fmt.Sprint(best) {
			p.Class = classes[best]
		}
	} else {
		p.Guess = &best
	}
	for _, g := range got.Top(top, classes) {
		c := topChoice{Digit: g.Class, Probability: g.Probability}
		if g.Label != fmt.Sprint(g.Class) {
			c.Class = g.Label
		}
		p.Top = append(p.Top, c)
	}
	return p
}

func emitPrediction(stdout, stderr io.Writer, p prediction, asJSON, show bool) {
	if asJSON {
		b, err := json.Marshal(p)
		if err != nil { // a probability that is not a number: say so rather than print nothing
			b, _ = json.Marshal(prediction{File: p.File, Error: err.Error()})
		}
		fmt.Fprintln(stdout, string(b))
		return
	}
	if p.Error != "" {
		fmt.Fprintf(stderr, "%s: error: %s\n", p.File, p.Error)
		return
	}
	var tops []string
	for _, c := range p.Top {
		tops = append(tops, fmt.Sprintf("%d %.1f%%", c.Digit, 100*c.Probability))
	}
	switch {
	case p.Digit != nil:
		label := fmt.Sprint(*p.Digit)
		if p.Class != "" {
			label += " (" + p.Class + ")"
		}
		fmt.Fprintf(stdout, "%s: %s, probability %.1f%%  (top: %s)\n", p.File, label, 100*p.Probability, strings.Join(tops, ", "))
	case p.Guess != nil:
		fmt.Fprintf(stdout, "%s: not sure (%s)  (top: %s)\n", p.File, p.Reason, strings.Join(tops, ", "))
	default:
		fmt.Fprintf(stdout, "%s: no digit (%s)\n", p.File, p.Reason)
	}
	if show {
		fmt.Fprint(stdout, digit.ASCII(p.pixels))
	}
}
