package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/internal/kernels"
)

// Builtins names the built-in convolutional architectures Builtin makes.
var Builtins = []string{"cnn", "examples", "lenet5"}

// builtins are the layer stacks of the built-in architectures, for a [1 28 28] input.
var builtins = map[string][]LayerSpec{
	// A small, fast CNN: two 5×5 convolutions with batch norm, a dense layer, dropout.
	"cnn": {
		{Type: "conv2d", Out: 16, Kernel: 5, Padding: 2}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 32, Kernel: 5}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dropout", P: 0.25}, {Type: "dense", Out: 10},
	},
	// PyTorch's examples/mnist network (the peer's torch_cnn.py --model examples).
	"examples": {
		{Type: "conv2d", Out: 32, Kernel: 3}, {Type: "relu"}, {Type: "conv2d", Out: 64, Kernel: 3}, {Type: "relu"},
		{Type: "maxpool", Kernel: 2}, {Type: "dropout", P: 0.25}, {Type: "flatten"},
		{Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dropout", P: 0.5}, {Type: "dense", Out: 10},
	},
	// LeNet-5 as PyTorch writes it (ReLU, max pooling): the peer's torch_cnn.py --model lenet.
	"lenet5": {
		{Type: "conv2d", Out: 6, Kernel: 5, Padding: 2}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 16, Kernel: 5}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dense", Out: 120}, {Type: "relu"}, {Type: "dense", Out: 84}, {Type: "relu"}, {Type: "dense", Out: 10},
	},
}

// Builtin is the named built-in architecture (one of Builtins) for 28×28 images of 10
// classes, closed by the given output function, loss and initialization.
func Builtin(name, output, loss string, init Init) (Spec, error) {
	layers, ok := builtins[name]
	if !ok {
		return Spec{}, fmt.Errorf("nn: unknown architecture %q, want one of %s", name, strings.Join(Builtins, ", "))
	}
	return Spec{Input: []int{1, 28, 28}, Layers: slices.Clone(layers), Output: output, Loss: loss, Init: init}, nil
}

// SetCores spreads the work of networks like s over threads cores, for the whole
// process: call it before training or inference starts, from one goroutine. A network
// with convolutions splits each batch over workers, each driving a single-threaded BLAS,
// so that its kernels between the products (im2col, pooling, batch norm) use every core
// too; a dense network lets the product library thread each product (OpenBLAS's pool
// or oneDNN's OpenMP team), which measured faster for it.
func SetCores(s Spec, threads int) {
	if s.Convolutional() {
		kernels.SetThreads(1)
		kernels.SetWorkers(threads)
		return
	}
	kernels.SetThreads(threads)
	kernels.SetWorkers(1)
}
