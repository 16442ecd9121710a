package main

import (
	"flag"
	"testing"

	"github.com/digitnet/digitnet/internal/model"
)

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
