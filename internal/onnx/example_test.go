package onnx_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/onnx"
	"github.com/digitnet/digitnet/nn"
)

func ExampleConvert() {
	arch := nn.MLP{Sizes: []int{784, 300, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}
	net, err := arch.Build(rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	m := &model.Model{Arch: arch.Spec(), Net: net, Input: model.Input{Scale: 1.0 / 255}}
	mp, err := onnx.Convert(m) // onnx.Export(w, m) writes it
	if err != nil {
		panic(err)
	}
	g := mp.GetGraph()
	for _, n := range g.GetNode() {
		fmt.Println(n.GetOpType(), n.GetInput(), "->", n.GetOutput())
	}
	for _, t := range g.GetInitializer() {
		fmt.Println(t.GetName(), t.GetDims())
	}
	// Output:
	// Gemm [pixels dense0.weight dense0.bias] -> [gemm0]
	// Relu [gemm0] -> [relu0]
	// Gemm [relu0 dense1.weight dense1.bias] -> [gemm1]
	// Softmax [gemm1] -> [scores]
	// dense0.weight [300 784]
	// dense0.bias [300]
	// dense1.weight [10 300]
	// dense1.bias [10]
}
