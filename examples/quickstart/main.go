// Quickstart is digitnet used from Go, end to end: it trains a small network on MNIST
// for one epoch, saves it, opens the file again and reads the digit in a PNG.
//
//	go run ./examples/quickstart [image.png]
//
// MNIST is fetched on first use (into the user cache) and checked against its recorded
// SHA-256; without an argument it reads testdata/seven.png.
package main

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/recipe"
)

func main() {
	log.SetFlags(0)
	picture := "testdata/seven.png"
	if len(os.Args) > 1 {
		picture = os.Args[1]
	}
	ctx := context.Background()

	// 1. The data: MNIST's 60,000 training and 10,000 test images.
	trainSet, testSet, err := dataset.Load(ctx, dataset.Options{Dataset: "mnist", Log: os.Stderr})
	if err != nil {
		log.Fatal(err)
	}

	// 2. A recipe: the default one (784-300-10 ReLU, Adam with cosine decay), for one
	// epoch. Any field can change: r.Model = "cnn", r.Augment = "affine", ...
	r := recipe.Default()
	r.Epochs = 1
	run, err := recipe.New(r)
	if err != nil {
		log.Fatal(err)
	}
	nn.SetCores(r.Spec(), 2)
	res, err := run.Train(ctx, trainSet, testSet, recipe.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trained %s for %d epoch: test accuracy %.2f%%\n", run.Net, res.EpochsDone, 100*res.Test.Accuracy)

	// 3. Save the model, then open it as any program would.
	dir, err := os.MkdirTemp("", "quickstart")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	if err := run.Save(path, trainSet.Classes, res); err != nil {
		log.Fatal(err)
	}
	m, err := digitnet.Open(path)
	if err != nil {
		log.Fatal(err)
	}

	// 4. Read the digit in a picture.
	f, err := os.Open(picture)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		log.Fatalf("%s: %v", picture, err)
	}
	p, err := m.PredictImage(img)
	if err != nil {
		log.Fatalf("%s: %v", picture, err)
	}
	fmt.Printf("%s: %s (confidence %.1f%%)\n", picture, p.Label, 100*p.Confidence)
}
