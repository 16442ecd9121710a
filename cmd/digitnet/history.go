package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/internal/fsutil"
	"github.com/digitnet/digitnet/train"
)

// writeHistory writes the per-epoch curve as CSV or JSON, by the file's extension.
func writeHistory(path string, hist []train.Epoch) error {
	var buf bytes.Buffer
	if strings.ToLower(filepath.Ext(path)) == ".json" {
		if hist == nil {
			hist = []train.Epoch{}
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
		return fmt.Errorf("writing history: %w", err)
	}
	return nil
}
