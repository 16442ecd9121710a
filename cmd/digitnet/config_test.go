package main

import (
	"flag"
	"math"
	"testing"

	"github.com/digitnet/digitnet/internal/model"
)

// TestStandardInputUsesDatasetStats: --input standard maps each data set's mean pixel
// to 0 and its deviation to 1, with that data set's statistics.
func TestStandardInputUsesDatasetStats(t *testing.T) {
	for name, st := range map[string]struct{ mean, std float64 }{"mnist": {0.1307, 0.3081}, "fashion": {0.2860, 0.3530}} {
		c := trainConfig{Input: "standard", Dataset: name}
		scale, offset := c.scaling()
		at := func(v float64) float64 { return float64(scale)*v*255 + float64(offset) }
		if m, sd := at(st.mean), at(st.mean+st.std); math.Abs(m) > 1e-5 || math.Abs(sd-1) > 1e-5 {
			t.Errorf("%s: mean pixel → %g, mean+deviation → %g; want 0 and 1", name, m, sd)
		}
	}
}

// TestLabelSmoothingWithArch: --label-smoothing applies to --arch networks too (it was
// once dropped for them without a word).
func TestLabelSmoothingWithArch(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := digitnet("train", "--arch", "../../examples/mlp-800x2-dropout.json", "--label-smoothing", "0.1",
		"--epochs", "1", "--train-limit", "256", "--test-limit", "64", "--out", dir+"/m.safetensors", "--progress", "none")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	m, err := model.Load(dir + "/m.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch.LabelSmoothing != 0.1 {
		t.Errorf("saved architecture has label smoothing %g, want 0.1", m.Arch.LabelSmoothing)
	}
}

// TestModelRecipe: --model cnn brings its measured recipe (15 epochs, affine
// augmentation) under the default preset, and flags still override it.
func TestModelRecipe(t *testing.T) {
	for _, c := range []struct {
		args    []string
		epochs  int
		augment string
	}{
		{[]string{"--model", "cnn"}, 15, "affine"},
		{[]string{"--model", "cnn", "--epochs", "2", "--augment", "none"}, 2, "none"},
		{[]string{"--model", "lenet5"}, 4, "none"},
		{[]string{}, 4, "none"},
	} {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		var cfg trainConfig
		trainFlags(fs, &cfg)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if err := resolve(fs, &cfg); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if cfg.Epochs != c.epochs || cfg.Augment != c.augment {
			t.Errorf("%v: epochs %d, augment %q; want %d, %q", c.args, cfg.Epochs, cfg.Augment, c.epochs, c.augment)
		}
	}
}
