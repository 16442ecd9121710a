package augment_test

import (
	"fmt"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/train"
)

// Training on distorted digits: wrap the training set, hand the wrapper to the loop, and
// keep its State in checkpoints. Evaluate on the plain sets.
func Example() {
	// Two 28×28 "digits": a bar and a dot.
	px := make([]uint8, 2*784)
	for y := 8; y < 20; y++ {
		px[y*28+13], px[y*28+14] = 255, 255
	}
	px[784+14*28+14] = 255
	plain := &train.Bytes{Pixels: px, Labels: []uint8{1, 0}, ExampleShape: []int{784}, Scale: 1.0 / 255}

	cfg := augment.Config{Translate: 2, Rotate: 10, Scale: 0.1, Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 4}}
	if err := cfg.Validate(); err != nil { // check user input before New, which panics
		fmt.Println(err)
		return
	}
	data := augment.New(plain, cfg, 1) // a train.Data, for train.Run's training set

	x := make([]float32, 2*784)
	labels := make([]int, 2)
	data.Batch([]int{1, 0}, x, labels)
	fmt.Println("labels", labels, "calls", data.State())

	// Resuming from a checkpoint: the same seed and the saved State repeat the
	// distortions the run would have drawn.
	resumed := augment.New(plain, cfg, 1)
	resumed.SetState(data.State())
	fmt.Println("resumed at call", resumed.State())

	fmt.Println(augment.Config{Rotate: 200}.Validate())
	// Output:
	// labels [0 1] calls 1
	// resumed at call 1
	// augment: rotate 200, want a value in [0, 180]
}
