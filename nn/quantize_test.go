package nn

import (
	"math"
	"math/rand/v2"
	"strings"
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
	r := quantizedReplica(t, net)
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

// int8ConvByHand is a quantized convolution's output computed from the definition:
// s_x·s_o·Σ(q_x − z)·q_W + b over each patch, the padding being the quantized 0.
func int8ConvByHand(c *Conv2D, q *Int8Conv, x []float32, N, H, W int) []float32 {
	oh, ow := c.outSize(H, W)
	k, s, p := c.Kernel, c.Stride, c.Padding
	y := make([]float32, N*c.Out*oh*ow)
	for n := 0; n < N; n++ {
		for o := 0; o < c.Out; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var acc int32
					for ch := 0; ch < c.In; ch++ {
						for u := 0; u < k; u++ {
							for v := 0; v < k; v++ {
								r, cc := i*s+u-p, j*s+v-p
								xq := int32(q.InZero)
								if r >= 0 && cc >= 0 && r < H && cc < W {
									// x·(1/step), as the kernel computes it (see TestQuantizeDense)
									f := x[((n*c.In+ch)*H+r)*W+cc] * (1 / q.InScale)
									xq = int32(min(max(math.RoundToEven(float64(f))+float64(q.InZero), 0), 255))
								}
								acc += (xq - int32(q.InZero)) * int32(q.W[((ch*k+u)*k+v)*c.Out+o])
							}
						}
					}
					y[((n*c.Out+o)*oh+i)*ow+j] = float32(acc)*(q.InScale*q.ColScale[o]) + c.B.Value.Data[o]
				}
			}
		}
	}
	return y
}

// TestQuantizeConvByHand: an int8 convolution gives int8ConvByHand's values, over
// kernel sizes 1-7 (the patch copy's fast path and its edges), strides, paddings,
// output maps from 1 to 10,000 positions (one image or several a product, with a
// remainder; batches under 8 rows through the row kernel), per-channel scales far
// apart and nonzero biases, for batches of N, 1 and N−1.
func TestQuantizeConvByHand(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ C, O, H, k, s, p, N int }{
		{1, 4, 28, 5, 1, 2, 25}, // 784 rows an image: groups of 10 images and a remainder
		{3, 5, 9, 3, 2, 1, 7},
		{2, 3, 11, 7, 1, 3, 3},
		{2, 3, 10, 4, 3, 2, 5},
		{4, 6, 8, 1, 1, 0, 9}, // pointwise
		{2, 3, 8, 1, 2, 1, 4},
		{1, 2, 100, 3, 1, 1, 2}, // 10,000 rows: one image a product
		{1, 2, 3, 3, 1, 0, 5},   // 1 row an image
	} {
		c := NewConv2D("c", tc.C, tc.O, tc.k, tc.s, tc.p)
		K := tc.C * tc.k * tc.k
		for i := range c.W.Value.Data {
			c.W.Value.Data[i] = float32(rng.NormFloat64()) * float32(i/K+1) // channel o's weights ~(o+1)
		}
		for i := range c.B.Value.Data {
			c.B.Value.Data[i] = float32(rng.NormFloat64())
		}
		net := &Network{Layers: []Layer{c}, InShape: []int{tc.C, tc.H, tc.H}}
		x := randTensor(rng, 1, tc.N, tc.C, tc.H, tc.H)
		if err := net.Quantize(x); err != nil {
			t.Fatal(err)
		}
		q := c.Int8()
		if q.InZero == 0 || q.InZero == 255 {
			t.Fatalf("%+v: zero point %d for inputs of both signs", tc, q.InZero)
		}
		for _, N := range []int{tc.N, 1, max(1, tc.N-1)} {
			xs := tensor.FromSlice(x.Data[:N*tc.C*tc.H*tc.H], N, tc.C, tc.H, tc.H)
			got, want := c.Forward(xs, false).Data, int8ConvByHand(c, q, xs.Data, N, tc.H, tc.H)
			if len(got) != len(want) {
				t.Fatalf("%+v, batch %d: %d outputs, want %d", tc, N, len(got), len(want))
			}
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%+v, batch %d: output %d = %g, by hand %g", tc, N, i, got[i], want[i])
				}
			}
		}
	}
}

// TestQuantizeConv: a quantized CNN's logits land near the float32 ones, and a replica
// given the quantization answers the same.
func TestQuantizeConv(t *testing.T) {
	spec := Spec{Input: []int{3, 9, 9}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 6, Kernel: 3, Stride: 2, Padding: 1}, {Type: "relu"},
		{Type: "conv2d", Out: 5, Kernel: 3}, {Type: "relu"}, {Type: "flatten"}, {Type: "dense", Out: 4},
	}}
	net, err := spec.BuildFrom(rand.NewPCG(5, 5))
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(testRNG(), 1, 40, 3, 9, 9)
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
	got := logits(net)
	if e := RelError(got, f64(want)); e > 0.02 || e == 0 {
		t.Errorf("int8 network's logits: RelError %.3g against float32's, want (0, 0.02]", e)
	}
	if rg := logits(quantizedReplica(t, net)); RelError(rg, f64(got)) != 0 {
		t.Fatal("replica's int8 outputs differ from the network's")
	}
}

// quantizedReplica is a network of net's architecture sharing its parameters and, by
// ShareQuantization, its int8 form.
func quantizedReplica(t *testing.T, net *Network) *Network {
	t.Helper()
	r, err := net.spec.Build(testRNG())
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Params() {
		p.Value = net.Params()[i].Value
	}
	r.ShareQuantization(net)
	return r
}

// TestQuantizeInputsKnownRange: calibrated on faint images (ink up to a quarter), the
// first layer fitted on them clips full ink; given the inputs' range it takes pixels
// p/255 exactly (step 1/255, zero point 0) and its outputs on full ink are float32's
// to within the weights' rounding.
// Non-finite weights are refused rather than quantized into nonsense.
func TestQuantizeInputsKnownRange(t *testing.T) {
	build := func() *Network {
		net, err := MLP{Sizes: []int{30, 12, 4}, Activation: "relu", Output: "softmax", Loss: "ce", Init: InitGlorotNormal}.Build(testRNG())
		if err != nil {
			t.Fatal(err)
		}
		return net
	}
	rng := testRNG()
	full := tensor.New(40, 30)
	for i := range full.Data {
		full.Data[i] = float32(rng.IntN(256)) / 255
	}
	faint := full.Clone()
	for i := range faint.Data {
		faint.Data[i] *= 0.25
	}
	// The first layer's outputs (the later layers' ranges are the calibration's anyway).
	want := build().Layers[0].Forward(full, false).Clone()
	worst := func(net *Network) float64 {
		got, w := net.Layers[0].Forward(full, false), 0.0
		for i, v := range want.Data {
			w = max(w, math.Abs(float64(got.Data[i]-v)))
		}
		return w
	}
	fitted, known := build(), build()
	if err := fitted.Quantize(faint); err != nil {
		t.Fatal(err)
	}
	if err := known.QuantizeInputs(faint, 0, 1); err != nil {
		t.Fatal(err)
	}
	q := known.Layers[0].(*Dense).Int8()
	if q.InScale != float32(1.0/255) || q.InZero != 0 {
		t.Errorf("known range [0, 1]: step %g zero %d, want 1/255 and 0", q.InScale, q.InZero)
	}
	if e := worst(known); e > 0.02 {
		t.Errorf("known range: outputs off by up to %.3f from float32", e)
	}
	if e := worst(fitted); e < 0.05 {
		t.Errorf("fitted on faint images: outputs off by only %.3f; the test no longer shows the clipping", e)
	}
	bad := build()
	bad.Layers[0].(*Dense).W.Value.Data[3] = float32(math.Inf(1))
	if err := bad.Quantize(full); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("Quantize with an infinite weight: %v, want an error about finite weights", err)
	}
}
