package nn_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// An architecture is data: a Spec, which JSON files (`train --arch`) also hold. Build
// makes the network, with weights drawn from the random source.
func ExampleSpec_Build() {
	spec := nn.Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal,
		Layers: []nn.LayerSpec{
			{Type: "conv2d", Out: 8, Kernel: 3}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
			{Type: "flatten"}, {Type: "dense", Out: 10},
		}}
	net, err := spec.Build(rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(net)
	fmt.Println(net.ParamCount(), "parameters")
	// Output:
	// Conv2D(1->8, 3x3, stride 1, pad 0) → ReLU → MaxPool2D(2) → Flatten → Dense(1352->10) → [Softmax] ; loss softmax+ce
	// 13610 parameters
}

// The built-in architectures close with the output function and loss you choose.
func ExampleBuiltin() {
	spec, err := nn.Builtin("lenet5", "softmax", "ce", nn.InitHeNormal)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.InputSize(), "inputs,", spec.Outputs(), "outputs, convolutional:", spec.Convolutional())
	// Output:
	// 784 inputs, 10 outputs, convolutional: true
}

// A network's forward pass, its loss and the gradients of one step, by hand: what
// train.Run does for every batch.
func ExampleNetwork_TrainBatch() {
	net, err := nn.MLP{Sizes: []int{2, 4, 2}, Activation: "tanh", Output: "softmax", Loss: "ce", Init: nn.InitGlorotUniform}.Build(rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		log.Fatal(err)
	}
	x := tensor.FromSlice([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2) // XOR
	loss, correct := net.TrainBatch(x, []int{0, 1, 1, 0})
	fmt.Printf("loss %.2f, %d of 4 right before any step\n", loss, correct)
	for _, p := range net.Params() {
		fmt.Println(p.Name, p.Value.Shape, "gradient", p.Grad.Shape)
	}
	// Output:
	// loss 0.72, 3 of 4 right before any step
	// dense0.weight [2 4] gradient [2 4]
	// dense0.bias [4] gradient [4]
	// dense1.weight [4 2] gradient [4 2]
	// dense1.bias [2] gradient [2]
}
