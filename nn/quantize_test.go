package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/tensor"
)

// TestQuantizeDense: the int8 layer computes s_x·s_o·Σ(q_x − z)·q_W + b from the
// quantized values exactly as defined (through oneDNN where it runs, batch 50, else
// the row kernel), and lands near the float32 output.
func TestQuantizeDense(t *testing.T) {
	rng := testRNG()
	net, err := MLP{Sizes: []int{20, 9, 4}, Activation: "tanh", Output: "softmax", Loss: "ce", Init: InitGlorotNormal}.Build(rng)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 1, 50, 20) // negative inputs: a zero point above 0
	want := net.Forward(x, false).Clone()
	if err := net.Quantize(x); err != nil {
		t.Fatal(err)
	}
	got := net.Forward(x, false).Clone()
	d0 := net.Layers[0].(*Dense)
	q := d0.q.Int8Dense
	if q.InZero == 0 || q.InZero == 255 {
		t.Errorf("first layer's zero point %d for inputs on both sides of 0", q.InZero)
	}
	// The first layer by hand, from the quantized values.
	h0 := tensor.New(50, 9)
	for n := 0; n < 50; n++ {
		for o := 0; o < 9; o++ {
			var acc int32
			for i := 0; i < 20; i++ {
				// x·(1/step), as the kernel computes it (ONNX divides: the two can round
				// a value a few ulps from a half apart, a few in a million)
				xq := int32(min(max(math.RoundToEven(float64(x.Data[n*20+i]*(1/q.InScale)))+float64(q.InZero), 0), 255))
				acc += (xq - int32(q.InZero)) * int32(q.W[i*9+o])
			}
			h0.Data[n*9+o] = float32(acc)*(q.InScale*q.ColScale[o]) + d0.B.Value.Data[o]
		}
	}
	y0 := d0.Forward(x, false)
	for i, v := range h0.Data {
		if math.Abs(float64(y0.Data[i]-v)) > 1e-5*(1+math.Abs(float64(v))) {
			t.Fatalf("int8 layer output %d = %g, by hand %g", i, y0.Data[i], v)
		}
	}
	for i, w := range want.Data {
		if math.Abs(float64(got.Data[i]-w)) > 0.03*(1+math.Abs(float64(w))) {
			t.Errorf("output %d: int8 %g, float32 %g", i, got.Data[i], w)
		}
	}
	// Training stays float32.
	if tr := net.Forward(x, true); math.Abs(float64(tr.Data[0]-want.Data[0])) > 1e-6 {
		t.Errorf("training forward %g, want the float32 %g", tr.Data[0], want.Data[0])
	}
	// A replica given the quantization answers the same.
	r, err := net.spec.Build(testRNG())
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Params() {
		p.Value = net.Params()[i].Value
	}
	r.ShareQuantization(net)
	if !r.Quantized() {
		t.Fatal("replica not quantized after ShareQuantization")
	}
	rg := r.Forward(x, false)
	for i := range got.Data {
		if rg.Data[i] != got.Data[i] {
			t.Fatalf("replica output %d = %g, network %g", i, rg.Data[i], got.Data[i])
		}
	}
}

// TestQuantizeConv: an int8 convolution computes s_x·s_o·Σ(q_x − z)·q_W + b over each
// patch (the padding being the quantized 0) exactly as defined, for a padded strided
// convolution on inputs of both signs (through oneDNN where it runs; a batch of one,
// 4 output positions < gemvRows, through the row kernel), and the quantized CNN lands
// near the float32 one; a replica given the quantization answers the same.
func TestQuantizeConv(t *testing.T) {
	spec := Spec{Input: []int{3, 9, 9}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 6, Kernel: 3, Stride: 2, Padding: 1}, {Type: "relu"},
		{Type: "conv2d", Out: 5, Kernel: 3}, {Type: "relu"}, {Type: "flatten"}, {Type: "dense", Out: 4},
	}}
	net, err := spec.BuildFrom(rand.NewPCG(5, 5))
	if err != nil {
		t.Fatal(err)
	}
	rng := testRNG()
	x := randTensor(rng, 1, 40, 3, 9, 9)
	logits := func(net *Network) []float32 { // before the softmax, whose outputs of random weights are near 0 or 1
		h := x
		for _, l := range net.Layers {
			h = l.Forward(h, false)
		}
		return append([]float32(nil), h.Data...)
	}
	want := logits(net)
	if err := net.Quantize(x); err != nil {
		t.Fatal(err)
	}
	c := net.Layers[0].(*Conv2D)
	q := c.Int8()
	if q == nil || q.InZero == 0 || q.InZero == 255 {
		t.Fatalf("first convolution's int8 form %+v: want a zero point inside for inputs of both signs", q)
	}
	for _, N := range []int{40, 1} {
		xs := tensor.FromSlice(x.Data[:N*3*81], N, 3, 9, 9)
		y := c.Forward(xs, false)
		for n := 0; n < N; n++ {
			for o := 0; o < 6; o++ {
				for i := 0; i < 5; i++ {
					for j := 0; j < 5; j++ {
						var acc int32
						for ch := 0; ch < 3; ch++ {
							for u := 0; u < 3; u++ {
								for v := 0; v < 3; v++ {
									r, s := 2*i+u-1, 2*j+v-1
									xq := int32(q.InZero) // the padding: 0, quantized
									if r >= 0 && s >= 0 && r < 9 && s < 9 {
										f := x.Data[((n*3+ch)*9+r)*9+s] * (1 / q.InScale)
										xq = int32(min(max(math.RoundToEven(float64(f))+float64(q.InZero), 0), 255))
									}
									acc += (xq - int32(q.InZero)) * int32(q.W[((ch*3+u)*3+v)*6+o])
								}
							}
						}
						hand := float32(acc)*(q.InScale*q.ColScale[o]) + c.B.Value.Data[o]
						if got := y.Data[((n*6+o)*5+i)*5+j]; math.Abs(float64(got-hand)) > 1e-5*(1+math.Abs(float64(hand))) {
							t.Fatalf("batch %d: int8 convolution output [%d %d %d %d] = %g, by hand %g", N, n, o, i, j, got, hand)
						}
					}
				}
			}
		}
	}
	got := logits(net)
	if e := RelError(got, f64(want)); e > 0.02 || e == 0 {
		t.Errorf("int8 network's logits: RelError %.3g against float32's, want (0, 0.02]", e)
	}
	r, err := net.spec.Build(testRNG())
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Params() {
		p.Value = net.Params()[i].Value
	}
	r.ShareQuantization(net)
	if rg := logits(r); RelError(rg, f64(got)) != 0 {
		t.Fatal("replica's int8 outputs differ from the network's")
	}
}
