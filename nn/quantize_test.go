package nn

import (
	"math"
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
