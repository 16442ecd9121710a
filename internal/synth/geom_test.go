package synth

import (
	"math"
	"testing"
)

func near(a, b Point) bool { return math.Hypot(a.X-b.X, a.Y-b.Y) < 1e-9 }

func TestSquareToQuad(t *testing.T) {
	for _, q := range [][4]Point{
		{{0, 0}, {10, 0}, {10, 10}, {0, 10}},
		{{1, 2}, {11, 1}, {12, 13}, {-1, 9}},
		{{0, 0}, {4, 1}, {5, 6}, {1, 5}}, // a parallelogram
	} {
		m := squareToQuad(q)
		for i, c := range []Point{{0, 0}, {1, 0}, {1, 1}, {0, 1}} {
			if got := m.apply(c); !near(got, q[i]) {
				t.Errorf("squareToQuad(%v) maps %v to %v, want %v", q, c, got, q[i])
			}
			if got := m.inverse().apply(q[i]); !near(got, c) {
				t.Errorf("inverse of squareToQuad(%v) maps %v to %v, want %v", q, q[i], got, c)
			}
		}
	}
}

func TestTransforms(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      mat3
		in, to Point
	}{
		{"rotation 90° (counterclockwise on screen: right goes up)", rotation(90), Point{1, 0}, Point{0, -1}},
		{"shear 0.5 (the top leans right)", shear(0.5), Point{0, -2}, Point{1, -2}},
		{"scale then translate", scaling(2, 3).then(translate(1, 1)), Point{1, 1}, Point{3, 4}},
		{"translate then scale", translate(1, 1).then(scaling(2, 3)), Point{1, 1}, Point{4, 6}},
	} {
		if got := tc.m.apply(tc.in); !near(got, tc.to) {
			t.Errorf("%s: %v → %v, want %v", tc.name, tc.in, got, tc.to)
		}
	}
}
