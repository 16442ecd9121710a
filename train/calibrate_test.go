package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/nn"
)

// An overconfident network: its logits are three times those the labels were drawn
// from, so temperature scaling should find T ≈ 3 and cut the calibration error.
func TestCalibrateFindsTemperature(t *testing.T) {
	const n, K, sharp = 20000, 10, 3.0
	rng := rand.New(rand.NewPCG(1, 2))
	probs := make([]float32, n*K)
	labels := make([]int, n)
	z := make([]float64, K)
	for i := range n {
		for k := range z {
			z[k] = 1.5 * rng.NormFloat64()
		}
		// the label is drawn from softmax(z); the network says softmax(sharp·z)
		var s, s3 float64
		for _, v := range z {
			s += math.Exp(v)
			s3 += math.Exp(sharp * v)
		}
		u, acc := rng.Float64()*s, 0.0
		labels[i] = K - 1
		for k, v := range z {
			if acc += math.Exp(v); u < acc {
				labels[i] = k
				break
			}
		}
		for k, v := range z {
			probs[i*K+k] = float32(math.Exp(sharp*v) / s3)
		}
	}
	c := Calibrate(probs, labels, K, 0.01)
	if math.Abs(c.Temperature-sharp) > 0.15 {
		t.Errorf("temperature %.3f, want about %.1f", c.Temperature, sharp)
	}
	if !(c.ECEAfter < c.ECEBefore/3) {
		t.Errorf("ECE %.4f before, %.4f after: scaling did not calibrate", c.ECEBefore, c.ECEAfter)
	}
	if c.Abstain > 0.01 || c.Abstain < 0.005 || c.MinConfidence <= 0 {
		t.Errorf("min confidence %.3f withholds %.2f%%, want about 1%%", c.MinConfidence, 100*c.Abstain)
	}
}

func TestTemper(t *testing.T) {
	row := []float32{0.7, 0.2, 0.1, 0}
	Temper(row, 2) // softmax(z/2) ∝ sqrt(p)
	want := []float64{math.Sqrt(0.7), math.Sqrt(0.2), math.Sqrt(0.1), 0}
	s := want[0] + want[1] + want[2]
	for k := range row {
		if math.Abs(float64(row[k])-want[k]/s) > 1e-6 {
			t.Fatalf("tempered %v, want %v/%.4f", row, want, s)
		}
	}
	if nn.Argmax(row) != 0 {
		t.Fatal("tempering changed the class")
	}
}

func TestECE(t *testing.T) {
	// Four answers at confidence 0.9, three right: one bin, |0.75 - 0.9|.
	probs := []float32{0.9, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9}
	ece, acc := ECE(probs, []int{0, 0, 1, 0}, 2, 15)
	if math.Abs(ece-0.15) > 1e-6 || acc != 0.75 {
		t.Fatalf("ECE %.4f accuracy %.2f, want 0.15 and 0.75", ece, acc)
	}
}
