package train

import (
	"math"
	"testing"
)

func TestPerClass(t *testing.T) {
	tests := []struct {
		name  string
		m     [][]int
		names []string
		want  []ClassMetrics
	}{
		{
			name: "two classes",
			m:    [][]int{{8, 2}, {1, 9}},
			want: []ClassMetrics{
				{Class: 0, Name: "0", Precision: 8.0 / 9, Recall: 0.8, F1: 2 * (8.0 / 9) * 0.8 / (8.0/9 + 0.8), Support: 10},
				{Class: 1, Name: "1", Precision: 9.0 / 11, Recall: 0.9, F1: 2 * (9.0 / 11) * 0.9 / (9.0/11 + 0.9), Support: 10},
			},
		},
		{
			name:  "never predicted, never seen",
			m:     [][]int{{3, 0}, {0, 0}},
			names: []string{"cat", "dog"},
			want: []ClassMetrics{
				{Class: 0, Name: "cat", Precision: 1, Recall: 1, F1: 1, Support: 3},
				{Class: 1, Name: "dog"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PerClass(tc.m, tc.names)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Metrics(%v) gave %d classes, want %d", tc.m, len(got), len(tc.want))
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Class != w.Class || g.Name != w.Name || g.Support != w.Support ||
					math.Abs(g.Precision-w.Precision) > 1e-12 || math.Abs(g.Recall-w.Recall) > 1e-12 || math.Abs(g.F1-w.F1) > 1e-12 {
					t.Errorf("Metrics(%v)[%d] = %+v, want %+v", tc.m, i, g, w)
				}
			}
		})
	}
}
