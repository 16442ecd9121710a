package digitnet_test

import (
	"context"
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/recipe"
)

// Train a network for two epochs, save it, open it and read the digit in a photo.
func Example() {
	trainSet, testSet, err := dataset.Load(context.Background(), dataset.Options{Dataset: "mnist"})
	if err != nil {
		log.Fatal(err)
	}
	r := recipe.Default() // 784-300-10 ReLU, Adam
	r.Epochs, r.TrainLimit = 2, 10000
	run, err := recipe.New(r)
	if err != nil {
		log.Fatal(err)
	}
	res, err := run.Train(context.Background(), trainSet, testSet, recipe.Options{})
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(os.TempDir(), "example-model.safetensors")
	defer os.Remove(path)
	if err := run.Save(path, trainSet.Classes, res); err != nil {
		log.Fatal(err)
	}

	m, err := digitnet.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("testdata/seven.png")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	p, err := m.PredictImage(img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy above 90%%: %v\n", res.Test.Accuracy > 0.90)
	fmt.Printf("the photo shows a %s\n", p.Label)
	// Output:
	// test accuracy above 90%: true
	// the photo shows a 7
}
