package report_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/digitnet/digitnet/internal/report"
)

// An evaluation report: no learning curves, no activations, so neither file is written.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "report")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	confusion := [][]int{{97, 3}, {1, 99}}
	classes := []string{"cat", "dog"}
	r := report.Report{
		Title:     "digitnet eval — cats and dogs",
		Summary:   [][2]string{{"test accuracy", "98.00%"}},
		Classes:   classes,
		Confusion: confusion, // the per-class table (metrics.csv) is derived from it
	}
	if err := report.Write(filepath.Join(dir, "eval"), r); err != nil {
		log.Fatal(err)
	}

	entries, _ := os.ReadDir(filepath.Join(dir, "eval"))
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "eval", report.MetricsCSV))
	fmt.Print(string(csv))
	// Output:
	// confusion.png
	// confusion.svg
	// index.html
	// metrics.csv
	// class,name,precision,recall,f1,support
	// 0,cat,0.9898,0.9700,0.9798,100
	// 1,dog,0.9706,0.9900,0.9802,100
}
