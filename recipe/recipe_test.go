package recipe

import (
	"math"
	"testing"
)

// TestStandardInputUsesDatasetStats: input "standard" maps each data set's mean pixel to
// 0 and its deviation to 1, with that data set's statistics.
func TestStandardInputUsesDatasetStats(t *testing.T) {
	for name, st := range map[string]struct{ mean, std float64 }{"mnist": {0.1307, 0.3081}, "fashion": {0.2860, 0.3530}} {
		r := Recipe{Input: "standard", Dataset: name}
		scale, offset := r.Scaling()
		at := func(v float64) float64 { return float64(scale)*v*255 + float64(offset) }
		if m, sd := at(st.mean), at(st.mean+st.std); math.Abs(m) > 1e-5 || math.Abs(sd-1) > 1e-5 {
			t.Errorf("%s: mean pixel → %g, mean+deviation → %g; want 0 and 1", name, m, sd)
		}
	}
}
