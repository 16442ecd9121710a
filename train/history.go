package train

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/internal/fsutil"
)

// WriteHistory writes a run's learning curve to path atomically: JSON (the Epochs) when
// the name ends in .json, else CSV with the header epoch,loss,train_accuracy,
// test_accuracy,seconds,lr.
func WriteHistory(path string, hist []Epoch) error {
	var buf bytes.Buffer
	if strings.ToLower(filepath.Ext(path)) == ".json" {
		if hist == nil {
			hist = []Epoch{}
		}
		b, err := json.MarshalIndent(hist, "", "  ")
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	} else {
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"epoch", "loss", "train_accuracy", "test_accuracy", "seconds", "lr"})
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		for _, e := range hist {
			_ = w.Write([]string{strconv.Itoa(e.Epoch), f(e.Loss), f(e.TrainAccuracy), f(e.TestAccuracy), f(e.Seconds), f(e.LR)})
		}
		w.Flush()
	}
	if err := fsutil.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("train: writing the history: %w", err)
	}
	return nil
}
