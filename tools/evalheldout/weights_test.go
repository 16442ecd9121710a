package main

import "testing"

// weighedRight counts right answers of the weighed average, a withheld one wrong: here
// member 2 is right where member 1 is wrong, and only weighing it more reads both.
func TestWeighedRight(t *testing.T) {
	pics := []picture{{"a", 0}, {"b", 1}, {"c", 1}, {"d", 0}}
	probs := [][][]float64{
		{{0.9, 0.1}, {0.8, 0.2}, {0.2, 0.8}, nil}, // member 1: a right, b wrong, c right
		{{0.7, 0.3}, {0.1, 0.9}, {0.4, 0.6}, nil}, // member 2: a, b, c right
	}
	several := []bool{false, false, false, false}
	for _, c := range []struct {
		w    []int
		want int
	}{{[]int{1, 1}, 3}, {[]int{2, 1}, 2}, {[]int{1, 2}, 3}} {
		if got := weighedRight(c.w, probs, several, pics, 0); got != c.want {
			t.Errorf("weights %v: %d right, want %d", c.w, got, c.want)
		}
	}
	// A picture of several digits is wrong whatever its probabilities; d (no ink) too.
	several[0] = true
	if got := weighedRight([]int{1, 1}, probs, several, pics, 0); got != 2 {
		t.Errorf("with a picture of several digits: %d right, want 2", got)
	}
	// The floor as printFloor fits it: the 2nd least confident of 3 answers (0.7 of 3,
	// less one) at 1:1 is c's 0.7, and b's 0.55 falls under it.
	several[0] = false
	if got := weighedRight([]int{1, 1}, probs, several, pics, 0.7); got != 2 {
		t.Errorf("with a floor: %d right, want 2", got)
	}
	if g := gcd([]int{2, 4, 6}); g != 2 {
		t.Errorf("gcd(2, 4, 6) = %d", g)
	}
}
