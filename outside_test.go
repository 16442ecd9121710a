package digitnet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// outsideMain is a program in a module of its own that requires digitnet: it trains a
// network through the public packages (nn, optim, train, dataset), saves it with the
// root package, and reads a model the command line trained and a PNG with it.
const outsideMain = `package main

import (
	"context"
	"fmt"
	"image/png"
	"log"
	"math/rand/v2"
	"os"

	"github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

func main() {
	cliModel, picture, out := os.Args[1], os.Args[2], os.Args[3]
	trainSet, testSet, err := dataset.Load(context.Background(), dataset.Options{})
	if err != nil {
		log.Fatal(err)
	}
	spec := nn.MLP{Sizes: []int{784, 64, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Spec()
	src := rand.NewPCG(1, 2)
	net, err := spec.BuildFrom(src)
	if err != nil {
		log.Fatal(err)
	}
	data := func(s *dataset.Set, n int) train.Data {
		return train.Subset(&train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: spec.Input, Scale: 1.0 / 255}, n)
	}
	epochs := 0
	cfg := train.Config{Epochs: 2, BatchSize: 64, Shuffle: true, AfterEpoch: func(c train.Checkpoint) error { epochs = len(c.History); return nil }}
	res, err := train.Run(context.Background(), net, optim.NewAdam(2e-3), data(trainSet, 5000), data(testSet, 1000), cfg, src, nil)
	if err != nil {
		log.Fatal(err)
	}
	mine, err := digitnet.New(net, digitnet.Meta{Scale: 1.0 / 255, Dataset: "mnist"})
	if err != nil {
		log.Fatal(err)
	}
	if err := mine.Save(out); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trained: %d epochs, test accuracy above 0.85: %v\n", epochs, res.Test.Accuracy > 0.85)

	for _, path := range []string{cliModel, out} {
		m, err := digitnet.Open(path)
		if err != nil {
			log.Fatal(err)
		}
		f, err := os.Open(picture)
		if err != nil {
			log.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
		p, err := m.PredictImage(img)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("predicted %s\n", p.Label)
	}
}
`

// TestOutsideModule builds and runs outsideMain as a user's module would, with
// `require github.com/digitnet/digitnet` replaced by this checkout: only exported,
// non-internal packages can be imported there, so it fails if the public API lacks what
// training and prediction need.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate module")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/user\n\ngo 1.26\n\nrequire github.com/digitnet/digitnet v0.0.0\n\nreplace github.com/digitnet/digitnet => " + root + "\n"
	for name, content := range map[string]string{"go.mod": goMod, "main.go": outsideMain} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("go", "mod", "tidy")
	// The command line's model: `digitnet train --out`.
	cli := filepath.Join(dir, "cli.safetensors")
	cmd := exec.Command("go", "run", "./cmd/digitnet", "train", "--epochs", "1", "--train-limit", "5000", "--progress", "none", "--out", cli)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("digitnet train: %v\n%s", err, out)
	}
	out := run("go", "run", ".", cli, filepath.Join(root, "testdata", "seven.png"), filepath.Join(dir, "mine.safetensors"))
	want := "trained: 2 epochs, test accuracy above 0.85: true\npredicted 7\npredicted 7\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("the outside module printed\n%s\nwant it to end with\n%s", out, want)
	}
}
