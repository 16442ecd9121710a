// Package onnx exports digitnet models as ONNX files, for onnxruntime, Netron and the
// other tools of that ecosystem.
//
// The exported graph is
//
//	input  "pixels" float32 [N 784]: pixel values in [0,1], i.e. byte/255, N the batch
//	       size (a dynamic dimension named "N")
//	nodes  one or more per layer, first layer first, then the network's Head:
//	         nn.Dense    Gemm(x, W, b) with transB=1
//	         nn.ReLU     Relu
//	         nn.Sigmoid  Sigmoid
//	         nn.Tanh     Tanh
//	         nn.Softmax  Softmax, axis=1
//	output "scores" float32 [N 10]: what nn.Network.Predict returns for the same
//	       pixels, class probabilities for softmax outputs
//
// (784 and 10 stand for the network's input and output sizes.) A network taking
// shaped examples (InShape [28 28], say) gets a Reshape of the flat input first, and a
// Dense reading such a tensor a Flatten(axis=1), as nn.Dense flattens. The file uses the
// default ONNX operator set at version Opset (13) and IR version IRVersion (7, the IR
// of opset 13), so any runtime from onnxruntime 1.6 on loads it.
//
// Initializers follow the PyTorch nn.Linear layout of digitnet's model files:
// "dense<i>.weight" is float32 [out in], which is why the Gemm nodes set transB=1, and
// "dense<i>.bias" float32 [out], i = 0 for the layer next to the input.
//
// The model's input normalization x = Scale·byte + Offset, which is Scale·255·p + Offset
// for p = byte/255, is folded into the first layer when it is a Dense:
//
//	dense0.weight = 255·Scale·Wᵀ
//	dense0.bias   = b + Offset·Σ_i W[i,:]
//
// so those two tensors differ from the model file's. When the first layer is anything
// else the graph starts with explicit Mul("input.scale") and Add("input.offset") nodes.
//
// The model's doc_string describes the architecture; metadata_props carry
// digitnet.arch, digitnet.input, digitnet.dataset and digitnet.classes with the values
// the model file holds.
//
// Layers the exporter does not know, Conv2D or Dropout for instance, are an error
// wrapping ErrUnsupported, never a partial graph.
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/onnx/onnxpb"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// The versions this package writes.
const (
	Opset     = 13 // version of the default ONNX operator set ("ai.onnx")
	IRVersion = 7  // ONNX IR version that goes with Opset
)

// The graph's input and output names.
const (
	InputName  = "pixels"
	OutputName = "scores"
)

// ErrUnsupported is wrapped by the error for a layer that has no ONNX translation.
var ErrUnsupported = errors.New("layer type not supported by the ONNX exporter")

// Export writes m to w as an ONNX model (see the package documentation for the graph).
func Export(w io.Writer, m *model.Model) error {
	mp, err := Convert(m)
	if err != nil {
		return err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return fmt.Errorf("onnx: encoding: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// Convert builds the ONNX model of m without encoding it. m is not modified.
func Convert(m *model.Model) (*onnxpb.ModelProto, error) {
	if m == nil || m.Net == nil || len(m.Net.Layers) == 0 {
		return nil, errors.New("onnx: model has no network")
	}
	if m.Input.Scale == 0 {
		return nil, errors.New("onnx: model input scale is 0: the model has no input normalization")
	}
	net := m.Net
	b := &builder{
		graph:  &onnxpb.GraphProto{Name: proto.String("digitnet")},
		counts: map[string]int{},
		tensor: InputName,
		shape:  append([]int(nil), net.InShape...),
	}
	if len(b.shape) == 0 {
		return nil, errors.New("onnx: network has no input shape")
	}
	inSize := tensor.Size(b.shape)
	b.graph.Input = []*onnxpb.ValueInfoProto{valueInfo(InputName, []int{inSize})}
	if len(b.shape) > 1 {
		// The input is flat; the network wants [N InShape...].
		shape := append([]int64{-1}, int64s(b.shape)...)
		b.tensor = b.node("Reshape", []string{b.tensor, b.int64Initializer("input.shape", shape)})
	}

	// The normalization is folded into a first float32 Dense; anything else (a quantized
	// one too: its input range is the network's input's) gets Mul and Add.
	first, fold := net.Layers[0].(*nn.Dense)
	fold = fold && first.Int8() == nil
	if !fold {
		b.tensor = b.node("Mul", []string{b.tensor, b.scalar("input.scale", 255*float64(m.Input.Scale))})
		b.tensor = b.node("Add", []string{b.tensor, b.scalar("input.offset", float64(m.Input.Offset))})
	}
	for i, l := range net.Layers {
		var in *model.Input
		if i == 0 && fold {
			in = &m.Input
		}
		if err := b.layer(l, in); err != nil {
			return nil, fmt.Errorf("onnx: layer %d, %s (%T): %w", i, l, l, err)
		}
	}
	if net.Head != nil {
		if err := b.layer(net.Head, nil); err != nil {
			return nil, fmt.Errorf("onnx: head, %s (%T): %w", net.Head, net.Head, err)
		}
	}
	last := b.graph.Node[len(b.graph.Node)-1]
	last.Output[0] = OutputName
	b.graph.Output = []*onnxpb.ValueInfoProto{valueInfo(OutputName, b.shape)}

	return &onnxpb.ModelProto{
		IrVersion:     proto.Int64(IRVersion),
		OpsetImport:   []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName:  proto.String("digitnet"),
		DocString:     proto.String(docString(m, fold)),
		Graph:         b.graph,
		MetadataProps: metadata(m),
	}, nil
}

// builder appends nodes to a graph, tracking the tensor the next node reads and its
// per-example shape.
type builder struct {
	graph  *onnxpb.GraphProto
	counts map[string]int // nodes per op type, for names
	tensor string         // name of the current tensor
	shape  []int          // its shape without the batch dimension
}

// layer appends the nodes computing l on the current tensor. When in is not nil, the
// layer is the first and the input normalization is folded into it.
func (b *builder) layer(l nn.Layer, in *model.Input) error {
	out, err := l.OutShape(b.shape)
	if err != nil {
		return err
	}
	switch l := l.(type) {
	case *nn.Dense:
		b.dense(l, in)
	case *nn.ReLU:
		b.tensor = b.node("Relu", []string{b.tensor})
	case *nn.Sigmoid:
		b.tensor = b.node("Sigmoid", []string{b.tensor})
	case *nn.Tanh:
		b.tensor = b.node("Tanh", []string{b.tensor})
	case *nn.Conv2D:
		b.conv(l)
	case *nn.MaxPool2D:
		k := int64(l.K)
		b.tensor = b.node("MaxPool", []string{b.tensor}, intsAttr("kernel_shape", k, k), intsAttr("strides", k, k))
	case *nn.Flatten:
		b.tensor = b.node("Flatten", []string{b.tensor}, intAttr("axis", 1))
	case *nn.Dropout:
		// The identity at inference: no node.
	case *nn.BatchNorm:
		n := b.counts["BatchNormalization"]
		names := []string{b.tensor}
		for i, p := range []*nn.Param{l.Gamma, l.Beta, l.RunningMean, l.RunningVar} {
			suffix := []string{"weight", "bias", "running_mean", "running_var"}[i]
			names = append(names, b.initializer(fmt.Sprintf("bn%d.%s", n, suffix), p.Value.Data, l.Features))
		}
		b.tensor = b.node("BatchNormalization", names, floatAttr("epsilon", float32(l.Eps)))
	case *nn.Softmax:
		if len(b.shape) != 1 {
			return fmt.Errorf("input [N %s], want [N K]", tensor.ShapeString(b.shape)[1:])
		}
		b.tensor = b.node("Softmax", []string{b.tensor}, intAttr("axis", 1))
	default:
		return ErrUnsupported
	}
	b.shape = out
	return nil
}

// dense appends Gemm(x, W, b) with transB=1, W stored [out in]: y = x·Wᵀ + b. A
// non-flat input is flattened first, as nn.Dense reads it. A quantized layer is written
// in QDQ form (qdqDense).
func (b *builder) dense(d *nn.Dense, in *model.Input) {
	if len(b.shape) > 1 {
		b.tensor = b.node("Flatten", []string{b.tensor}, intAttr("axis", 1))
	}
	if q := d.Int8(); q != nil {
		b.qdqDense(d, q)
		return
	}
	I, O := d.In, d.Out
	W, bias := d.W.Value.Data, d.B.Value.Data
	scale, offset := 1.0, 0.0
	if in != nil {
		scale, offset = 255*float64(in.Scale), float64(in.Offset)
	}
	wt := make([]float32, O*I) // [O I]
	bt := make([]float32, O)
	for o := 0; o < O; o++ {
		sum := 0.0 // Σ_i W[i,o], for the folded offset
		for i := 0; i < I; i++ {
			w := float64(W[i*O+o])
			wt[o*I+i] = float32(scale * w)
			sum += w
		}
		bt[o] = float32(float64(bias[o]) + offset*sum)
	}
	k := b.counts["Gemm"]
	wName := b.initializer(fmt.Sprintf("dense%d.weight", k), wt, O, I)
	bName := b.initializer(fmt.Sprintf("dense%d.bias", k), bt, O)
	b.tensor = b.node("Gemm", []string{b.tensor, wName, bName}, intAttr("transB", 1))
}

// qdqDense appends a quantized Dense in ONNX's QDQ form, the one runtimes recognise
// and run as integer products (onnxruntime fuses it into QLinearMatMul / MatMulInteger):
// the input goes through QuantizeLinear and DequantizeLinear with the layer's scale and
// uint8 zero point, the int8 weights [out in] through a per-row DequantizeLinear (axis
// 0, zero points 0), then the Gemm. Rounding (half to even) and saturation are those of
// nn's int8 layer, so the two agree to float32 rounding of the sums.
func (b *builder) qdqDense(d *nn.Dense, q *nn.Int8Dense) {
	k := b.counts["Gemm"]
	prefix := fmt.Sprintf("dense%d", k)
	b.quantizeInput(prefix, q.InScale, q.InZero)
	wd := b.int8Weights(prefix, q.W, q.ColScale, d.Out, d.In)
	bias := b.initializer(prefix+".bias", d.B.Value.Data, d.Out)
	b.tensor = b.node("Gemm", []string{b.tensor, wd, bias}, intAttr("transB", 1))
}

// conv appends Conv(x, W, b), W stored [O C K K] as nn keeps it. A quantized
// convolution is written in QDQ form, as qdqDense writes a dense layer: the input
// through QuantizeLinear and DequantizeLinear, the int8 weights through a
// DequantizeLinear per output channel (axis 0), then the Conv.
func (b *builder) conv(l *nn.Conv2D) {
	n := b.counts["Conv"]
	var w string
	if q := l.Int8(); q == nil {
		w = b.initializer(fmt.Sprintf("conv%d.weight", n), l.W.Value.Data, l.Out, l.In, l.Kernel, l.Kernel)
	} else {
		prefix := fmt.Sprintf("conv%d", n)
		b.quantizeInput(prefix, q.InScale, q.InZero)
		w = b.int8Weights(prefix, q.W, q.ColScale, l.Out, l.In, l.Kernel, l.Kernel)
	}
	bias := b.initializer(fmt.Sprintf("conv%d.bias", n), l.B.Value.Data, l.Out)
	k, p := int64(l.Kernel), int64(l.Padding)
	b.tensor = b.node("Conv", []string{b.tensor, w, bias}, intsAttr("kernel_shape", k, k),
		intsAttr("strides", int64(l.Stride), int64(l.Stride)), intsAttr("pads", p, p, p, p))
}

// quantizeInput passes the current tensor through QuantizeLinear and DequantizeLinear
// with a layer's input step and uint8 zero point.
func (b *builder) quantizeInput(prefix string, scale float32, zero uint8) {
	s := b.scalar(prefix+".input_scale", float64(scale))
	z := b.addInitializer(prefix+".input_zero_point", onnxpb.TensorProto_UINT8, []byte{zero}, nil)
	b.tensor = b.node("QuantizeLinear", []string{b.tensor, s, z})
	b.tensor = b.node("DequantizeLinear", []string{b.tensor, s, z})
}

// int8Weights adds a layer's int8 weights in ONNX's order [O rest...] (nn keeps them
// transposed, [rest O]) with their per-output-channel scales, and returns the
// DequantizeLinear (axis 0, zero points 0) that gives them as floats.
func (b *builder) int8Weights(prefix string, wT []int8, scales []float32, dims ...int) string {
	O := dims[0]
	K := len(wT) / O
	wq := make([]byte, O*K) // int8 as bytes
	for k := 0; k < K; k++ {
		for o := 0; o < O; o++ {
			wq[o*K+k] = byte(wT[k*O+o])
		}
	}
	w := b.addInitializer(prefix+".weight_int8", onnxpb.TensorProto_INT8, wq, dims)
	ws := b.initializer(prefix+".weight_scale", scales, O)
	wz := b.addInitializer(prefix+".weight_zero_point", onnxpb.TensorProto_INT8, make([]byte, O), []int{O})
	return b.node("DequantizeLinear", []string{w, ws, wz}, intAttr("axis", 0))
}

// node appends a node of type op reading inputs and returns the name of its output,
// which is also the node's name: the op in lower case and a count, e.g. "gemm0".
func (b *builder) node(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	name := fmt.Sprintf("%s%d", strings.ToLower(op), b.counts[op])
	b.counts[op]++
	b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{
		Name:      proto.String(name),
		OpType:    proto.String(op),
		Input:     inputs,
		Output:    []string{name},
		Attribute: attrs,
	})
	return name
}

// initializer adds a float32 tensor of the given shape and returns its name.
func (b *builder) initializer(name string, data []float32, shape ...int) string {
	raw := make([]byte, 4*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return b.addInitializer(name, onnxpb.TensorProto_FLOAT, raw, shape)
}

// int64Initializer adds an int64 vector and returns its name.
func (b *builder) int64Initializer(name string, data []int64) string {
	raw := make([]byte, 8*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return b.addInitializer(name, onnxpb.TensorProto_INT64, raw, []int{len(data)})
}

// addInitializer adds a tensor held as raw little-endian bytes.
func (b *builder) addInitializer(name string, typ onnxpb.TensorProto_DataType, raw []byte, shape []int) string {
	b.graph.Initializer = append(b.graph.Initializer, &onnxpb.TensorProto{
		Name:     proto.String(name),
		DataType: proto.Int32(int32(typ)),
		Dims:     int64s(shape),
		RawData:  raw,
	})
	return name
}

// scalar adds a float32 scalar (a tensor of rank 0) and returns its name.
func (b *builder) scalar(name string, v float64) string {
	return b.initializer(name, []float32{float32(v)})
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{
		Name: proto.String(name),
		Type: onnxpb.AttributeProto_INT.Enum(),
		I:    proto.Int64(v),
	}
}

func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// valueInfo describes a float32 tensor [N shape...] with a dynamic batch dimension N.
func valueInfo(name string, shape []int) *onnxpb.ValueInfoProto {
	dims := []*onnxpb.TensorShapeProto_Dimension{
		{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
	}
	for _, d := range shape {
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)},
		})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

// docString describes the architecture for people reading the file in a viewer.
func docString(m *model.Model, folded bool) string {
	var s strings.Builder
	a := m.Arch
	fmt.Fprintf(&s, "digitnet network, input %v, %d layers, output %s, loss %s\n", a.Input, len(a.Layers), a.Output, a.Loss)
	fmt.Fprintf(&s, "layers: %s\n", m.Net)
	where := "the Mul and Add nodes at the input"
	if folded {
		where = "dense0.weight and dense0.bias"
	}
	fmt.Fprintf(&s, "input %q: pixels in [0,1] (byte/255); the model's normalization x = %g·byte + %g is in %s\n",
		InputName, m.Input.Scale, m.Input.Offset, where)
	fmt.Fprintf(&s, "output %q: what digitnet's Predict returns", OutputName)
	if m.Net.Quantized() {
		s.WriteString("\nint8: the dense layers and convolutions in QDQ form (int8 weights per output channel, uint8 inputs), as digitnet's --precision int8 runs them")
	}
	return s.String()
}

// metadata carries the model file's description along.
func metadata(m *model.Model) []*onnxpb.StringStringEntryProto {
	arch, _ := json.Marshal(m.Arch)
	input, _ := json.Marshal(m.Input)
	classes, _ := json.Marshal(m.Classes)
	var out []*onnxpb.StringStringEntryProto
	for _, kv := range [][2]string{
		{"digitnet.arch", string(arch)},
		{"digitnet.input", string(input)},
		{"digitnet.dataset", m.Dataset},
		{"digitnet.classes", string(classes)},
	} {
		out = append(out, &onnxpb.StringStringEntryProto{Key: proto.String(kv[0]), Value: proto.String(kv[1])})
	}
	return out
}
