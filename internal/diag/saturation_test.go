package diag

import (
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// mnistLike is a batch of sparse images: about a fifth of the pixels inked, at 0..255
// times scale.
func mnistLike(rng *rand.Rand, n int, scale float32) *tensor.Tensor {
	x := tensor.New(n, 784)
	for i := range x.Data {
		if rng.Float64() < 0.19 {
			x.Data[i] = float32(rng.IntN(256)) * scale
		}
	}
	return x
}

func TestActivitiesSeedSaturatesFixedDoesNot(t *testing.T) {
	cases := []struct {
		name           string
		init           nn.Init
		scale          float32
		minSat, maxSat float64
	}{
		{"randn init on raw pixels (the seed)", nn.InitNormal, 1, 0.95, 1},
		{"glorot init on unit pixels (fixed)", nn.InitGlorotUniform, 1.0 / 255, 0, 0.01},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(1, 1))
		net, err := nn.MLP{Sizes: []int{784, 300, 10}, Activation: "sigmoid", Output: "sigmoid", Loss: "bce", Init: c.init}.Build(rng)
		if err != nil {
			t.Fatal(err)
		}
		acts := Activities(net, mnistLike(rng, 64, c.scale))
		if len(acts) != 1 || acts[0].Name != "Sigmoid" || acts[0].Units != 300 {
			t.Fatalf("%s: activities %+v, want one Sigmoid layer of 300", c.name, acts)
		}
		if s := acts[0].Saturated; s < c.minSat || s > c.maxSat {
			t.Errorf("%s: saturated fraction %.3f, want in [%g, %g]", c.name, s, c.minSat, c.maxSat)
		}
	}
}

func TestActivitiesDeadReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	net, _ := nn.MLP{Sizes: []int{784, 20, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Build(rng)
	d := net.Layers[0].(*nn.Dense)
	for o := 0; o < 5; o++ { // kill 5 of 20 units: a large negative bias
		d.B.Value.Data[o] = -1e4
	}
	acts := Activities(net, mnistLike(rng, 32, 1.0/255))
	if got := acts[0].Dead; got != 0.25 {
		t.Errorf("dead fraction %g, want 0.25 (5 of 20 units)", got)
	}
}
