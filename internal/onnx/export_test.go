package onnx_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/onnx"
	"github.com/digitnet/digitnet/internal/onnx/onnxpb"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// tolerance is the largest absolute difference allowed between an exported graph's
// scores and Predict's.
const tolerance = 1e-4

var (
	pixelsInput = model.Input{Scale: 1.0 / 255} // x = byte/255
	// standardized is MNIST's mean and standard deviation: x = (byte/255 - 0.1307)/0.3081.
	standardized = model.Input{Scale: 1 / (255 * 0.3081), Offset: -0.1307 / 0.3081}
)

// netCase is a network the exporter handles, with the graph it should give.
type netCase struct {
	name  string
	arch  nn.MLP                       // built with MLP.Build when net is nil
	spec  *nn.Spec                     // a network MLP cannot describe (a CNN)
	net   func(*rand.Rand) *nn.Network // one no Spec describes either, assembled by hand
	input model.Input
	ops   []string // node op types in order
	inits []string // initializers in order, "name [dims]"
	out   string   // the graph output when not "scores [N 10]"
}

var netCases = []netCase{
	{
		name:  "relu/softmax",
		arch:  nn.MLP{Sizes: []int{784, 100, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal},
		input: pixelsInput,
		ops:   []string{"Gemm", "Relu", "Gemm", "Softmax"},
		inits: []string{"dense0.weight [100 784]", "dense0.bias [100]", "dense1.weight [10 100]", "dense1.bias [10]"},
	},
	{
		name:  "sigmoid/softmax",
		arch:  nn.MLP{Sizes: []int{784, 100, 10}, Activation: "sigmoid", Output: "softmax", Loss: "ce", Init: nn.InitGlorotNormal},
		input: pixelsInput,
		ops:   []string{"Gemm", "Sigmoid", "Gemm", "Softmax"},
		inits: []string{"dense0.weight [100 784]", "dense0.bias [100]", "dense1.weight [10 100]", "dense1.bias [10]"},
	},
	{
		name:  "tanh/sigmoid output",
		arch:  nn.MLP{Sizes: []int{784, 100, 10}, Activation: "tanh", Output: "sigmoid", Loss: "bce", Init: nn.InitGlorotNormal},
		input: pixelsInput,
		ops:   []string{"Gemm", "Tanh", "Gemm", "Sigmoid"},
		inits: []string{"dense0.weight [100 784]", "dense0.bias [100]", "dense1.weight [10 100]", "dense1.bias [10]"},
	},
	{
		name:  "deeper 784-64-32-10",
		arch:  nn.MLP{Sizes: []int{784, 64, 32, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal},
		input: pixelsInput,
		ops:   []string{"Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"},
		inits: []string{
			"dense0.weight [64 784]", "dense0.bias [64]", "dense1.weight [32 64]", "dense1.bias [32]",
			"dense2.weight [10 32]", "dense2.bias [10]",
		},
	},
	{
		name:  "standardized input",
		arch:  nn.MLP{Sizes: []int{784, 100, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal},
		input: standardized,
		ops:   []string{"Gemm", "Relu", "Gemm", "Softmax"},
		inits: []string{"dense0.weight [100 784]", "dense0.bias [100]", "dense1.weight [10 100]", "dense1.bias [10]"},
	},
	{
		// Softmax with mse is not fused: Softmax is a layer and the network has no Head.
		name:  "softmax layer (mse)",
		arch:  nn.MLP{Sizes: []int{784, 50, 10}, Activation: "tanh", Output: "softmax", Loss: "mse", Init: nn.InitGlorotNormal},
		input: pixelsInput,
		ops:   []string{"Gemm", "Tanh", "Gemm", "Softmax"},
		inits: []string{"dense0.weight [50 784]", "dense0.bias [50]", "dense1.weight [10 50]", "dense1.bias [10]"},
	},
	{
		name:  "linear output",
		arch:  nn.MLP{Sizes: []int{784, 50, 10}, Activation: "relu", Output: "linear", Loss: "mse", Init: nn.InitHeNormal},
		input: standardized,
		ops:   []string{"Gemm", "Relu", "Gemm"},
		inits: []string{"dense0.weight [50 784]", "dense0.bias [50]", "dense1.weight [10 50]", "dense1.bias [10]"},
	},
	{
		// One output: label 1 when it is above ½.
		name:  "binary classifier",
		arch:  nn.MLP{Sizes: []int{784, 32, 1}, Activation: "relu", Output: "sigmoid", Loss: "bce", Init: nn.InitHeNormal},
		input: standardized,
		ops:   []string{"Gemm", "Relu", "Gemm", "Sigmoid"},
		inits: []string{"dense0.weight [32 784]", "dense0.bias [32]", "dense1.weight [1 32]", "dense1.bias [1]"},
		out:   "scores [N 1]",
	},
	{
		// Nothing to fold the normalization into: explicit Mul and Add.
		name: "relu first",
		net: func(rng *rand.Rand) *nn.Network {
			return &nn.Network{InShape: []int{784},
				Layers: []nn.Layer{nn.NewReLU(), dense("dense0", 784, 10, rng)},
				Loss:   &nn.SoftmaxCrossEntropy{}, Head: nn.NewSoftmax()}
		},
		input: standardized,
		ops:   []string{"Mul", "Add", "Relu", "Gemm", "Softmax"},
		inits: []string{"input.scale []", "input.offset []", "dense0.weight [10 784]", "dense0.bias [10]"},
	},
	{
		// A network taking images [N 28 28]: the flat input is reshaped, and Dense
		// flattens it again.
		name: "image input",
		net: func(rng *rand.Rand) *nn.Network {
			return &nn.Network{InShape: []int{28, 28},
				Layers: []nn.Layer{dense("dense0", 784, 32, rng), nn.NewReLU(), dense("dense1", 32, 10, rng)},
				Loss:   &nn.SoftmaxCrossEntropy{}, Head: nn.NewSoftmax()}
		},
		input: standardized,
		ops:   []string{"Reshape", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"},
		inits: []string{"input.shape [3]", "dense0.weight [32 784]", "dense0.bias [32]", "dense1.weight [10 32]", "dense1.bias [10]"},
	},
	{
		// A CNN: convolution with padding, batch norm, pooling, dropout (absent at
		// inference), flatten, dense.
		name: "cnn",
		spec: &nn.Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal, Layers: []nn.LayerSpec{
			{Type: "conv2d", Out: 4, Kernel: 3, Padding: 1}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
			{Type: "conv2d", Out: 6, Kernel: 3, Stride: 2}, {Type: "relu"},
			{Type: "flatten"}, {Type: "dropout", P: 0.25}, {Type: "dense", Out: 10}}},
		input: standardized,
		ops: []string{"Reshape", "Mul", "Add", "Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "Relu",
			"Flatten", "Gemm", "Softmax"},
		inits: []string{"input.shape [4]", "input.scale []", "input.offset []", "conv0.weight [4 1 3 3]", "conv0.bias [4]",
			"bn0.weight [4]", "bn0.bias [4]", "bn0.running_mean [4]", "bn0.running_var [4]",
			"conv1.weight [6 4 3 3]", "conv1.bias [6]", "dense0.weight [10 216]", "dense0.bias [10]"},
	},
}

func dense(name string, in, out int, rng *rand.Rand) *nn.Dense {
	d := nn.NewDense(name, in, out)
	d.Initialize(nn.InitHeNormal, rng)
	return d
}

// newModel builds c's network with parameters from rng, biases included, so that a
// mistake in any tensor shows in the outputs.
func newModel(t testing.TB, c netCase, rng *rand.Rand) *model.Model {
	t.Helper()
	var net *nn.Network
	switch {
	case c.spec != nil:
		var err error
		if net, err = c.spec.Build(rng); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	case c.net != nil:
		net = c.net(rng)
	default:
		var err error
		if net, err = c.arch.Build(rng); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	for _, l := range net.Layers {
		var b []float32
		switch l := l.(type) {
		case *nn.Dense:
			b = l.B.Value.Data
		case *nn.Conv2D:
			b = l.B.Value.Data
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	classes := make([]string, 10)
	if n := len(c.arch.Sizes); n > 0 {
		classes = make([]string, max(c.arch.Sizes[n-1], 2)) // a binary classifier has one output
	}
	for i := range classes {
		classes[i] = fmt.Sprint(i)
	}
	var arch nn.Spec
	switch {
	case c.spec != nil:
		arch = *c.spec
	case len(c.arch.Sizes) > 0:
		arch = c.arch.Spec()
	}
	return &model.Model{Arch: arch, Net: net, Input: c.input, Dataset: "mnist", Classes: classes}
}

// predict is digitnet's output for n images of pixel bytes.
func predict(m *model.Model, images []uint8, n int) *tensor.Tensor {
	x := tensor.New(append([]int{n}, m.Net.InShape...)...)
	m.Batch(x.Data, images)
	return m.Net.Predict(x).Clone()
}

// pixels is the exported graph's input for the images: byte/255.
func pixels(images []uint8) []float32 {
	p := make([]float32, len(images))
	for i, b := range images {
		p[i] = float32(b) / 255
	}
	return p
}

// randomImages returns n MNIST-like images: mostly background, some ink.
func randomImages(n int, rng *rand.Rand) []uint8 {
	im := make([]uint8, n*784)
	for i := range im {
		if rng.IntN(5) == 0 {
			im[i] = uint8(rng.IntN(256))
		}
	}
	return im
}

func maxAbsDiff(got []float64, want []float32) float64 {
	d := 0.0
	for i := range want {
		d = max(d, math.Abs(got[i]-float64(want[i])))
	}
	return d
}

func dimsString(dims []int64) string { return fmt.Sprint(dims) }

func TestConvertGraph(t *testing.T) {
	for _, c := range netCases {
		t.Run(c.name, func(t *testing.T) {
			m := newModel(t, c, rand.New(rand.NewPCG(1, 2)))
			mp, err := onnx.Convert(m)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if got := mp.GetIrVersion(); got != onnx.IRVersion {
				t.Errorf("ir_version %d, want %d", got, onnx.IRVersion)
			}
			if ops := mp.GetOpsetImport(); len(ops) != 1 || ops[0].GetDomain() != "" || ops[0].GetVersion() != onnx.Opset {
				t.Errorf("opset_import %v, want default domain at %d", ops, onnx.Opset)
			}
			if got := mp.GetProducerName(); got != "digitnet" {
				t.Errorf("producer_name %q, want digitnet", got)
			}
			if !strings.Contains(mp.GetDocString(), m.Net.String()) {
				t.Errorf("doc_string %q does not describe the layers %q", mp.GetDocString(), m.Net)
			}
			g := mp.GetGraph()
			var ops []string
			for _, n := range g.GetNode() {
				ops = append(ops, n.GetOpType())
			}
			if !slices.Equal(ops, c.ops) {
				t.Errorf("nodes %v, want %v", ops, c.ops)
			}
			var inits []string
			for _, in := range g.GetInitializer() {
				inits = append(inits, in.GetName()+" "+dimsString(in.GetDims()))
			}
			if !slices.Equal(inits, c.inits) {
				t.Errorf("initializers %q, want %q", inits, c.inits)
			}
			for _, n := range g.GetNode() {
				if n.GetOpType() == "Gemm" && !hasIntAttr(n, "transB", 1) {
					t.Errorf("node %s: Gemm without transB=1", n.GetName())
				}
				if n.GetOpType() == "Softmax" && !hasIntAttr(n, "axis", 1) {
					t.Errorf("node %s: Softmax without axis=1", n.GetName())
				}
			}
			if got := ioString(g.GetInput()); got != "pixels [N 784]" {
				t.Errorf("inputs %q, want %q", got, "pixels [N 784]")
			}
			wantOut := "scores [N 10]"
			if c.out != "" {
				wantOut = c.out
			}
			if got := ioString(g.GetOutput()); got != wantOut {
				t.Errorf("outputs %q, want %q", got, wantOut)
			}
			if last := g.GetNode()[len(g.GetNode())-1]; !slices.Equal(last.GetOutput(), []string{"scores"}) {
				t.Errorf("last node writes %v, want [scores]", last.GetOutput())
			}
		})
	}
}

func hasIntAttr(n *onnxpb.NodeProto, name string, v int64) bool {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetType() == onnxpb.AttributeProto_INT && a.GetI() == v
		}
	}
	return false
}

// ioString shows graph inputs or outputs as "name [N 784]".
func ioString(vs []*onnxpb.ValueInfoProto) string {
	var parts []string
	for _, v := range vs {
		var dims []string
		for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
			if p := d.GetDimParam(); p != "" {
				dims = append(dims, p)
			} else {
				dims = append(dims, fmt.Sprint(d.GetDimValue()))
			}
		}
		elem := onnxpb.TensorProto_DataType(v.GetType().GetTensorType().GetElemType())
		if elem != onnxpb.TensorProto_FLOAT {
			dims = append(dims, elem.String())
		}
		parts = append(parts, v.GetName()+" ["+strings.Join(dims, " ")+"]")
	}
	return strings.Join(parts, ", ")
}

// TestConvertComputesPredict runs each exported graph with evalGraph, this file's
// reading of the ONNX operators, against Predict. The test with onnxruntime is in
// runtime_test.go.
func TestConvertComputesPredict(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const N = 20
	images := randomImages(N, rng)
	for _, c := range netCases {
		t.Run(c.name, func(t *testing.T) {
			if slices.Contains(c.ops, "Conv") {
				t.Skip("the float64 evaluator knows no convolutions; TestOnnxruntimeMatchesPredict checks this graph")
			}
			m := newModel(t, c, rng)
			mp, err := onnx.Convert(m)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			got, dims := evalGraph(t, mp.GetGraph(), pixels(images), N)
			want := predict(m, images, N)
			if fmt.Sprint(dims) != fmt.Sprint(want.Shape) {
				t.Fatalf("scores %v, Predict %v", dims, want.Shape)
			}
			if d := maxAbsDiff(got, want.Data); d > tolerance {
				t.Errorf("max |graph - Predict| = %.3g, want ≤ %g", d, tolerance)
			}
			// The int8 form, in QDQ form, computes the int8 Predict, to a looser bound:
			// this evaluator's float64 hidden values can fall on the other side of a
			// rounding boundary than Predict's float32 ones (onnxruntime, in float32,
			// is held to tolerance in runtime_test.go).
			if c.net != nil {
				return // assembled by hand: no architecture to rebuild the int8 replica from
			}
			q, err := m.Quantized(images, N)
			if err != nil {
				t.Fatal(err)
			}
			mp, err = onnx.Convert(q)
			if err != nil {
				t.Fatalf("Convert int8: %v", err)
			}
			if !strings.Contains(mp.GetDocString(), "QDQ form") {
				t.Errorf("int8 model's doc string %q does not say QDQ", mp.GetDocString())
			}
			got, _ = evalGraph(t, mp.GetGraph(), pixels(images), N)
			want8 := predict(q, images, N)
			if d := maxAbsDiff(got, want8.Data); d > 20*tolerance {
				t.Errorf("int8: max |QDQ graph - Predict| = %.3g, want ≤ %g", d, 20*tolerance)
			}
			if d := maxAbsDiff(got, want.Data); d == 0 {
				t.Error("int8: the QDQ graph gives the float32 scores exactly: not quantized")
			}
		})
	}
}

// evalGraph computes a graph's output in float64 for an input [N D], with the
// operators and attributes the exporter writes.
func evalGraph(t *testing.T, g *onnxpb.GraphProto, in []float32, N int) ([]float64, []int) {
	t.Helper()
	type value struct {
		data []float64
		dims []int
	}
	vals := map[string]value{}
	for _, init := range g.GetInitializer() {
		raw := init.GetRawData()
		var v value
		for _, d := range init.GetDims() {
			v.dims = append(v.dims, int(d))
		}
		switch onnxpb.TensorProto_DataType(init.GetDataType()) {
		case onnxpb.TensorProto_FLOAT:
			for i := 0; i < len(raw); i += 4 {
				bits := uint32(raw[i]) | uint32(raw[i+1])<<8 | uint32(raw[i+2])<<16 | uint32(raw[i+3])<<24
				v.data = append(v.data, float64(math.Float32frombits(bits)))
			}
		case onnxpb.TensorProto_INT8:
			for _, c := range raw {
				v.data = append(v.data, float64(int8(c)))
			}
		case onnxpb.TensorProto_UINT8:
			for _, c := range raw {
				v.data = append(v.data, float64(c))
			}
		case onnxpb.TensorProto_INT64:
			for i := 0; i < len(raw); i += 8 {
				var u uint64
				for k := 7; k >= 0; k-- {
					u = u<<8 | uint64(raw[i+k])
				}
				v.data = append(v.data, float64(int64(u)))
			}
		}
		vals[init.GetName()] = v
	}
	x := value{dims: []int{N, len(in) / N}}
	for _, p := range in {
		x.data = append(x.data, float64(p))
	}
	vals[g.GetInput()[0].GetName()] = x
	for _, n := range g.GetNode() {
		a := vals[n.GetInput()[0]]
		var y value
		switch n.GetOpType() {
		case "Gemm":
			w, b := vals[n.GetInput()[1]], vals[n.GetInput()[2]]
			rows, K, O := a.dims[0], a.dims[1], w.dims[0] // W [O K], transB=1
			if w.dims[1] != K {
				t.Fatalf("node %s: A %v, B %v", n.GetName(), a.dims, w.dims)
			}
			y = value{make([]float64, rows*O), []int{rows, O}}
			for r := 0; r < rows; r++ {
				for o := 0; o < O; o++ {
					s := b.data[o]
					for k := 0; k < K; k++ {
						s += a.data[r*K+k] * w.data[o*K+k]
					}
					y.data[r*O+o] = s
				}
			}
		case "Mul", "Add":
			s := vals[n.GetInput()[1]].data[0] // a scalar
			y = value{make([]float64, len(a.data)), a.dims}
			for i, v := range a.data {
				if n.GetOpType() == "Mul" {
					y.data[i] = v * s
				} else {
					y.data[i] = v + s
				}
			}
		case "Reshape", "Flatten":
			var dims []int
			if n.GetOpType() == "Flatten" {
				dims = []int{a.dims[0], -1}
			} else {
				for _, d := range vals[n.GetInput()[1]].data {
					dims = append(dims, int(d))
				}
			}
			known := 1
			for _, d := range dims {
				if d != -1 {
					known *= d
				}
			}
			for i, d := range dims {
				if d == -1 {
					dims[i] = len(a.data) / known
				}
			}
			y = value{a.data, dims}
		case "QuantizeLinear": // y = saturate(round_half_even(x / scale) + zero), uint8
			scale, zero := vals[n.GetInput()[1]].data[0], vals[n.GetInput()[2]].data[0]
			y = value{make([]float64, len(a.data)), a.dims}
			for i, v := range a.data {
				y.data[i] = min(max(math.RoundToEven(float64(float32(v)/float32(scale)))+zero, 0), 255)
			}
		case "DequantizeLinear": // (x - zero)·scale, per row of a 2-D x when axis = 0
			scale, zero := vals[n.GetInput()[1]].data, vals[n.GetInput()[2]].data
			y = value{make([]float64, len(a.data)), a.dims}
			per := len(a.data) // values per scale
			if len(scale) > 1 {
				per = a.dims[1]
			}
			for i, v := range a.data {
				y.data[i] = (v - zero[i/per]) * scale[i/per]
			}
		case "Relu", "Sigmoid", "Tanh":
			y = value{make([]float64, len(a.data)), a.dims}
			for i, v := range a.data {
				switch n.GetOpType() {
				case "Relu":
					y.data[i] = max(v, 0)
				case "Sigmoid":
					y.data[i] = 1 / (1 + math.Exp(-v))
				case "Tanh":
					y.data[i] = math.Tanh(v)
				}
			}
		case "Softmax":
			rows, K := a.dims[0], a.dims[1]
			y = value{make([]float64, len(a.data)), a.dims}
			for r := 0; r < rows; r++ {
				row := a.data[r*K : (r+1)*K]
				m := slices.Max(row)
				sum := 0.0
				for k, v := range row {
					y.data[r*K+k] = math.Exp(v - m)
					sum += y.data[r*K+k]
				}
				for k := range row {
					y.data[r*K+k] /= sum
				}
			}
		default:
			t.Fatalf("node %s: evalGraph does not know %s", n.GetName(), n.GetOpType())
		}
		vals[n.GetOutput()[0]] = y
	}
	out := vals[g.GetOutput()[0].GetName()]
	return out.data, out.dims
}

func TestExportDecodes(t *testing.T) {
	m := newModel(t, netCases[0], rand.New(rand.NewPCG(5, 6)))
	var buf bytes.Buffer
	if err := onnx.Export(&buf, m); err != nil {
		t.Fatalf("Export: %v", err)
	}
	var got onnxpb.ModelProto
	if err := proto.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("decoding the export: %v", err)
	}
	want, err := onnx.Convert(m)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if !proto.Equal(&got, want) {
		t.Errorf("Export wrote a model other than Convert's")
	}
	var again bytes.Buffer
	if err := onnx.Export(&again, m); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("two exports of one model differ")
	}
}

// conv2D stands for a layer the exporter does not know.
type conv2D struct{ *nn.ReLU }

func (conv2D) String() string { return "Conv2D(1->8, 3x3)" }

func TestConvertErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	base := func() *model.Model { return newModel(t, netCases[0], rng) }
	tests := []struct {
		name        string
		model       func() *model.Model
		want        string // in the error
		unsupported bool   // the error wraps ErrUnsupported
	}{
		{"nil model", func() *model.Model { return nil }, "onnx: model has no network", false},
		{"no network", func() *model.Model { m := base(); m.Net = nil; return m }, "onnx: model has no network", false},
		{"no layers", func() *model.Model { m := base(); m.Net.Layers = nil; return m }, "onnx: model has no network", false},
		{"no input scale", func() *model.Model { m := base(); m.Input = model.Input{}; return m }, "onnx: model input scale is 0", false},
		{"unsupported layer", func() *model.Model {
			m := base()
			m.Net.Layers = slices.Insert(m.Net.Layers, 2, nn.Layer(conv2D{nn.NewReLU()}))
			return m
		}, "onnx: layer 2, Conv2D(1->8, 3x3) (onnx_test.conv2D): layer type not supported", true},
		{"unsupported head", func() *model.Model { m := base(); m.Net.Head = conv2D{nn.NewReLU()}; return m },
			"onnx: head, Conv2D(1->8, 3x3) (onnx_test.conv2D)", true},
		{"shape mismatch", func() *model.Model {
			m := base()
			m.Net.Layers[2] = nn.NewDense("dense1", 99, 10)
			return m
		}, "onnx: layer 2, Dense(99->10) (*nn.Dense): nn: Dense(99->10): input shape [100]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.model()
			mp, err := onnx.Convert(m)
			if err == nil {
				t.Fatalf("Convert succeeded with %d nodes, want an error containing %q", len(mp.GetGraph().GetNode()), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, onnx.ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %v, want %v", err, got, tt.unsupported)
			}
			if err := onnx.Export(&bytes.Buffer{}, m); err == nil {
				t.Errorf("Export succeeded, Convert failed")
			}
		})
	}
}

// TestConvertInt8ConvWeights: a quantized convolution's int8 weights go out in ONNX's
// [O C K K] order, each W[o,c,u,v] (nn keeps the same order) over its channel's scale,
// rounded; the graph quantizes the input before each Conv. (The float64 evaluator knows
// no Conv; TestOnnxruntimeMatchesPredict runs the whole int8 CNN.)
func TestConvertInt8ConvWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var c netCase
	for _, nc := range netCases {
		if nc.name == "cnn" {
			c = nc
		}
	}
	m := newModel(t, c, rng)
	q, err := m.Quantized(randomImages(20, rng), 20)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := onnx.Convert(q)
	if err != nil {
		t.Fatal(err)
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, in := range mp.GetGraph().GetInitializer() {
		inits[in.GetName()] = in
	}
	convs := 0
	for _, l := range q.Net.Layers {
		conv, ok := l.(*nn.Conv2D)
		if !ok {
			continue
		}
		name := fmt.Sprintf("conv%d.weight_int8", convs)
		convs++
		w := inits[name]
		if w == nil {
			t.Fatalf("no initializer %s", name)
		}
		if want := fmt.Sprint([]int64{int64(conv.Out), int64(conv.In), int64(conv.Kernel), int64(conv.Kernel)}); fmt.Sprint(w.GetDims()) != want {
			t.Fatalf("%s dims %v, want %s", name, w.GetDims(), want)
		}
		scales := conv.Int8().ColScale
		K := conv.In * conv.Kernel * conv.Kernel
		for i, b := range w.GetRawData() {
			want := math.RoundToEven(float64(conv.W.Value.Data[i] / scales[i/K]))
			if float64(int8(b)) != want {
				t.Fatalf("%s[%d] = %d, want %g", name, i, int8(b), want)
			}
		}
	}
	if convs != 2 {
		t.Fatalf("%d convolutions in the test CNN, want 2", convs)
	}
	var ops []string
	for _, n := range mp.GetGraph().GetNode() {
		ops = append(ops, n.GetOpType())
	}
	if got := strings.Count(strings.Join(ops, " "), "QuantizeLinear DequantizeLinear DequantizeLinear Conv"); got != 2 {
		t.Errorf("ops %v: want each Conv after its input's Quantize/DequantizeLinear and its weights' DequantizeLinear", ops)
	}
}
