package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
)

// Metrics derives per-class precision, recall, F1 and support from a confusion matrix
// m ([true][predicted]) and class names (indices if names is empty). A score whose
// denominator is zero is 0. It returns an error if m is not square, has negative
// counts, or names does not match it.
func Metrics(m [][]int, names []string) ([]ClassMetrics, error) {
	names, err := classNames(names, len(m))
	if err != nil {
		return nil, err
	}
	n := len(m)
	predicted := make([]int, n) // column sums
	for i, row := range m {
		if len(row) != n {
			return nil, fmt.Errorf("report: confusion row %d has %d columns, want %d", i, len(row), n)
		}
		for j, c := range row {
			if c < 0 {
				return nil, fmt.Errorf("report: confusion[%d][%d] = %d is negative", i, j, c)
			}
			predicted[j] += c
		}
	}
	out := make([]ClassMetrics, n)
	for i, row := range m {
		support := 0
		for _, c := range row {
			support += c
		}
		tp := float64(row[i])
		cm := ClassMetrics{Class: i, Name: names[i], Support: support}
		if predicted[i] > 0 {
			cm.Precision = tp / float64(predicted[i])
		}
		if support > 0 {
			cm.Recall = tp / float64(support)
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		out[i] = cm
	}
	return out, nil
}

// metricsCSV writes one row per class under the header
// class,name,precision,recall,f1,support; scores have 4 decimals.
func metricsCSV(ms []ClassMetrics) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"class", "name", "precision", "recall", "f1", "support"})
	score := func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
	for _, m := range ms {
		w.Write([]string{strconv.Itoa(m.Class), m.Name, score(m.Precision), score(m.Recall), score(m.F1), strconv.Itoa(m.Support)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("report: %s: %w", MetricsCSV, err)
	}
	return b.Bytes(), nil
}
