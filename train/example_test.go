package train_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// xor is the four XOR examples as train.Data.
type xor struct{}

func (xor) Len() int     { return 4 }
func (xor) Shape() []int { return []int{2} }
func (xor) Batch(idx []int, x []float32, labels []int) {
	for j, i := range idx {
		a, b := i>>1, i&1
		x[2*j], x[2*j+1], labels[j] = float32(a), float32(b), a^b
	}
}

// printEpochs is a train.Recorder that prints the first and every 1000th epoch's report.
type printEpochs struct{}

func (printEpochs) StartEpoch(epoch, epochs, examples int) {}
func (printEpochs) Progress(done int, loss float64)        {}
func (printEpochs) EndEpoch(e train.Epoch) {
	if e.Epoch == 1 || e.Epoch%1000 == 0 {
		fmt.Printf("epoch %d: train accuracy %.0f%%\n", e.Epoch, 100*e.TrainAccuracy)
	}
}

// Train the classic 2-2-1 sigmoid network on XOR: any data that implements train.Data
// trains, with one random source for the initial weights and the shuffling.
func ExampleRun() {
	src := rand.NewPCG(5, 6)
	net, err := nn.MLP{Sizes: []int{2, 2, 1}, Activation: "sigmoid", Output: "sigmoid", Loss: "bce", Init: nn.InitGlorotUniform}.Build(rand.New(src))
	if err != nil {
		log.Fatal(err)
	}
	opt, _ := optim.New("momentum", 0.5)
	cfg := train.Config{Epochs: 3000, BatchSize: 4, Shuffle: true}
	res, err := train.Run(context.Background(), net, opt, xor{}, xor{}, cfg, src, printEpochs{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("after %d epochs: %.0f%% right\n", res.EpochsDone, 100*res.Test.Accuracy)
	// Output:
	// epoch 1: train accuracy 50%
	// epoch 1000: train accuracy 100%
	// epoch 2000: train accuracy 100%
	// epoch 3000: train accuracy 100%
	// after 3000 epochs: 100% right
}

// Per-class scores from a confusion matrix ([true][predicted]).
func ExamplePerClass() {
	scores, err := train.PerClass([][]int{{8, 2}, {1, 9}}, []string{"cat", "dog"})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range scores {
		fmt.Printf("%s: precision %.2f recall %.2f F1 %.2f\n", s.Name, s.Precision, s.Recall, s.F1)
	}
	// Output:
	// cat: precision 0.89 recall 0.80 F1 0.84
	// dog: precision 0.82 recall 0.90 F1 0.86
}
