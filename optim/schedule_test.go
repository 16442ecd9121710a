package optim

import (
	"math"
	"testing"
)

// TestSchedules pins every schedule's rates, epoch by epoch, for a base rate of 1: they
// are what recorded runs were trained with, so a change would change those runs.
func TestSchedules(t *testing.T) {
	c := func(x float64) float64 { return 0.5 * (1 + math.Cos(math.Pi*x)) } // cosine at fraction x
	tests := []struct {
		name           string
		epochs, warmup int
		want           []float64 // epochs 1..
	}{
		{"cosine", 4, 0, []float64{1, c(0.25), c(0.5), c(0.75)}},
		{"step", 8, 0, []float64{1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01}},
		{"step", 3, 0, []float64{1, 1, 0.1}},
		{"warmup", 5, 2, []float64{1.0 / 3, 2.0 / 3, 1, c(1.0 / 3), c(2.0 / 3)}},
		{"onecycle", 10, 0, []float64{0.04, 0.04 + 0.96/3, 0.04 + 2*0.96/3, 1, c(1.0 / 7), c(2.0 / 7), c(3.0 / 7), c(4.0 / 7), c(5.0 / 7), c(6.0 / 7)}},
		{"onecycle", 2, 0, []float64{0.04, 1}},
	}
	for _, tt := range tests {
		s, err := NewSchedule(tt.name, 1, tt.epochs, tt.warmup)
		if err != nil {
			t.Fatal(err)
		}
		for e, want := range tt.want {
			if got := s(e + 1); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s over %d epochs (warmup %d): epoch %d rate %.15g, want %.15g", tt.name, tt.epochs, tt.warmup, e+1, got, want)
			}
		}
	}
	if s, err := NewSchedule("constant", 1, 5, 0); s != nil || err != nil {
		t.Errorf("constant: %v %v, want a nil schedule", s, err)
	}
	if _, err := NewSchedule("exp", 1, 5, 0); err == nil {
		t.Error("an unknown schedule was accepted")
	}
}

// TestCosineScaledExactly: the rate is lr times the unit schedule's, bit for bit, so that
// runs recorded with any base rate reproduce.
func TestCosineScaledExactly(t *testing.T) {
	s, _ := NewSchedule("cosine", 4e-3, 4, 0)
	want := []float64{0.004, 0.0034142135623730949, 0.002, 0.0005857864376269051}
	for e, w := range want {
		if got := s(e + 1); got != w {
			t.Errorf("epoch %d: %.17g, want %.17g", e+1, got, w)
		}
	}
}
