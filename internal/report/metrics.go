package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
)

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
