package dataset_test

import (
	"context"
	"fmt"
	"os"

	"github.com/digitnet/digitnet/dataset"
)

// Load finds MNIST in --data, $DIGITNET_DATA or the user cache, fetching it the
// first time, and returns both splits verified and decoded.
func ExampleLoad() {
	train, test, err := dataset.Load(context.Background(), dataset.Options{Dataset: "mnist", Log: os.Stderr})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.N, test.N, train.Rows, train.Cols)
	fmt.Println("first label:", train.Classes[train.Labels[0]])
	img := train.Image(0)
	for r := 0; r < train.Rows; r += 2 {
		for c := 0; c < train.Cols; c++ {
			if img[r*train.Cols+c] > 127 {
				fmt.Print("#")
			} else {
				fmt.Print(".")
			}
		}
		fmt.Println()
	}
}
