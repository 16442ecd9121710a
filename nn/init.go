package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Init names a weight initialization scheme.
type Init string

// The initializers. Fan-in I and fan-out O are a Dense layer's input and output sizes.
const (
	// InitNormal draws weights and biases from N(0,1): the seed network's randn. With 784
	// inputs on 0..255 pixels it saturates every sigmoid unit; it exists to replay that.
	InitNormal Init = "normal"
	// InitGlorotUniform draws from U(-a, a), a = √(6/(I+O)) (Glorot & Bengio 2010).
	InitGlorotUniform Init = "glorot-uniform"
	// InitGlorotNormal draws from N(0, 2/(I+O)).
	InitGlorotNormal Init = "glorot-normal"
	// InitHeNormal draws from N(0, 2/I) (He et al. 2015), for ReLU layers.
	InitHeNormal Init = "he-normal"
	// InitHeUniform draws from U(-a, a), a = √(6/I).
	InitHeUniform Init = "he-uniform"
	// InitZeros sets every weight to 0: the classic symmetry bug (every unit of a layer
	// computes the same function and gets the same gradient, so they never differ). It
	// exists to reproduce and diagnose it.
	InitZeros Init = "zeros"
	// InitConstant sets every weight to 0.01 (the same symmetry bug, with a signal).
	InitConstant Init = "constant"
)

// Inits lists the initializer names accepted by ParseInit.
var Inits = []Init{InitNormal, InitGlorotUniform, InitGlorotNormal, InitHeNormal, InitHeUniform, InitZeros, InitConstant}

// ParseInit maps a name (also "xavier-uniform", "xavier-normal", "randn") to an Init.
func ParseInit(s string) (Init, error) {
	switch s {
	case "xavier-uniform", "xavier", "glorot":
		return InitGlorotUniform, nil
	case "xavier-normal":
		return InitGlorotNormal, nil
	case "randn":
		return InitNormal, nil
	case "he":
		return InitHeNormal, nil
	}
	if slices.Contains(Inits, Init(s)) {
		return Init(s), nil
	}
	return "", fmt.Errorf("nn: unknown init %q, want one of %v", s, Inits)
}

// Initialize fills a Dense layer's parameters from rng. Biases start at zero except under
// InitNormal, which draws them like the weights (as the seed did).
func (d *Dense) Initialize(init Init, rng *rand.Rand) {
	if err := initialize(d.W.Value.Data, d.B.Value.Data, init, float64(d.In), float64(d.Out), rng); err != nil {
		panic(fmt.Sprintf("nn: %s: %v", d, err))
	}
}

// initialize draws weights W and biases b for a layer of the given fan-in and fan-out.
func initialize(W, b []float32, init Init, fanIn, fanOut float64, rng *rand.Rand) error {
	clear(b)
	switch init {
	case InitNormal:
		fillNormal(W, 1, rng)
		fillNormal(b, 1, rng)
	case InitGlorotUniform:
		fillUniform(W, math.Sqrt(6/(fanIn+fanOut)), rng)
	case InitGlorotNormal:
		fillNormal(W, math.Sqrt(2/(fanIn+fanOut)), rng)
	case InitHeNormal:
		fillNormal(W, math.Sqrt(2/fanIn), rng)
	case InitHeUniform:
		fillUniform(W, math.Sqrt(6/fanIn), rng)
	case InitZeros:
		clear(W)
	case InitConstant:
		for i := range W {
			W[i] = 0.01
		}
	default:
		return fmt.Errorf("unknown init %q", init)
	}
	return nil
}

func fillNormal(x []float32, sigma float64, rng *rand.Rand) {
	for i := range x {
		x[i] = float32(sigma * rng.NormFloat64())
	}
}

func fillUniform(x []float32, a float64, rng *rand.Rand) {
	for i := range x {
		x[i] = float32(a * (2*rng.Float64() - 1))
	}
}
