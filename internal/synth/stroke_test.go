package synth

import (
	"math"
	"testing"
)

func TestDrawStrokesWidth(t *testing.T) {
	for _, w := range []float64{1.5, 4, 9} {
		m := DrawStrokes([]Stroke{{{0, 0}, {100, 0}}}, w, 1)
		var col float64 // ink across the line, at its middle
		for y := range m.H {
			col += float64(m.At(m.W/2, y))
		}
		if math.Abs(col-w) > 0.3 {
			t.Errorf("line with a %g px pen: %.2f px of ink across it, want %g", w, col, w)
		}
	}
}

func TestDrawStrokesDot(t *testing.T) {
	m := DrawStrokes([]Stroke{{{5, 5}}}, 10, 1)
	if got, want := m.Ink(), math.Pi*25; math.Abs(got-want) > 0.05*want {
		t.Errorf("dot of a 10 px pen: %.1f px of ink, want about %.1f (a disc)", got, want)
	}
}

func TestDrawStrokesCrossingIsNotDarker(t *testing.T) {
	m := DrawStrokes([]Stroke{{{0, 20}, {40, 20}}, {{20, 0}, {20, 40}}}, 5, 1)
	for _, v := range m.Pix {
		if v > 1 {
			t.Fatalf("coverage %g where strokes cross, want at most 1", v)
		}
	}
}

func TestFitStrokes(t *testing.T) {
	s := []Stroke{{{10, 100}, {10, 300}}, {{30, 300}}}
	got := FitStrokes(s, 50, false)
	if lo, hi := StrokeBounds(got); lo != (Point{0, 0}) || hi != (Point{5, 50}) {
		t.Errorf("FitStrokes(height 50): box %v-%v, want (0,0)-(5,50)", lo, hi)
	}
	flipped := FitStrokes(s, 50, true)
	if p := flipped[0][0]; p != (Point{0, 50}) {
		t.Errorf("FitStrokes flipped: first point %v, want (0,50) (the lowest y goes to the bottom)", p)
	}
	dash := FitStrokes([]Stroke{{{0, 0}, {300, 0}}}, 50, false)
	if _, hi := StrokeBounds(dash); hi.X != 100 {
		t.Errorf("FitStrokes of a horizontal dash: width %g, want 100 (twice the height)", hi.X)
	}
}
