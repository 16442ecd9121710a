package digitnet_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rank places every package of the module in a layer: a package may import only
// packages of lower layers. Data flows one way, from the arithmetic at the bottom to the
// command at the top; a new package must be placed here.
var rank = map[string]int{
	"tensor": 0, "internal/fsutil": 0, "internal/digit": 0, "internal/onnx/onnxpb": 0, "internal/synth": 0, "internal/calibration": 0,
	"internal/kernels": 1, "idx": 1,
	"nn": 2, "dataset": 2,
	"optim": 3, "internal/model": 3, "internal/pretrained": 4,
	"train":   4,
	"augment": 5, "internal/report": 5,
	"recipe": 6, ".": 6, "internal/onnx": 6, "internal/serve": 6, "internal/bench": 7, "internal/diag": 7,
	"cmd/digitnet": 8, "examples/quickstart": 8, "tools/heldout": 8, "tools/evalheldout": 8,
}

// TestLayering fails when a package imports one of its own layer or above (tests may
// import anything).
func TestLayering(t *testing.T) {
	const mod = "github.com/digitnet/digitnet"
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		seen[filepath.ToSlash(filepath.Dir(path))] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range seen {
		r, ok := rank[pkg]
		if !ok {
			t.Errorf("package %s has no layer in rank (layers_test.go): place it", pkg)
			continue
		}
		bp, err := build.Default.ImportDir(pkg, 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, imp := range bp.Imports {
			dep, ok := strings.CutPrefix(imp, mod+"/")
			if imp == mod {
				dep, ok = ".", true
			}
			if !ok {
				continue
			}
			if dr, known := rank[dep]; !known || dr >= r {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must go to lower layers", pkg, r, dep, dr)
			}
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatal("run from the module root")
	}
}
