package onnx_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/onnx"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// Checks by independent tools.
//
// The runtime check: models trained briefly on MNIST, exported, run by onnxruntime
// (npm onnxruntime-node, the CPU runtime Microsoft ships for Node) on 100 test images,
// and compared with Predict.
//
// onnxruntime-node is installed with npm into $DIGITNET_ORT_DIR, by default
// os.UserCacheDir()/digitnet/onnxruntime-node, the first time the test runs. Without
// node, npm or MNIST the test skips, unless the CI environment variable is set (to
// anything but a false value): CI then fails instead. Run it alone with
//
//	go test -run Onnxruntime -v ./internal/onnx
//
// The ONNX checker: TestCheckerAcceptsExport.

// ortVersion is the onnxruntime-node release the test installs.
const ortVersion = "1.30"

// envORTDir names the environment variable holding the onnxruntime-node directory.
const envORTDir = "DIGITNET_ORT_DIR"

// skipOrFail skips the test, unless running in CI where what is missing must be there.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if ci := os.Getenv("CI"); ci != "" {
		if b, err := strconv.ParseBool(ci); err != nil || b {
			t.Fatalf("CI=%s: "+format, append([]any{ci}, args...)...)
		}
	}
	t.Skipf(format, args...)
}

func TestOnnxruntimeMatchesPredict(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "no node to run onnxruntime-node: %v", err)
	}
	ortDir, err := installORT(t)
	if err != nil {
		skipOrFail(t, "onnxruntime-node: %v", err)
	}
	ctx := t.Context()
	trainSet, testSet, err := dataset.Load(ctx, dataset.Options{Dataset: "mnist"})
	if err != nil {
		skipOrFail(t, "MNIST: %v", err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "ort.js"))
	if err != nil {
		t.Fatal(err)
	}

	const N = 100
	images := testSet.Images[:N*784]
	inputPath := filepath.Join(t.TempDir(), "pixels.f32")
	if err := os.WriteFile(inputPath, float32Bytes(pixels(images)), 0o644); err != nil {
		t.Fatal(err)
	}
	overall := 0.0
	for _, c := range netCases {
		t.Run(c.name, func(t *testing.T) {
			src := rand.NewPCG(9, 10)
			m := newModel(t, c, rand.New(src))
			trainBriefly(t, m.Net, trainSet, testSet, m.Input.Scale, m.Input.Offset, src)
			path := filepath.Join(t.TempDir(), "model.onnx")
			writeExport(t, path, m)

			res := runORT(t, nodeBin, script, ortDir, path, inputPath, N)
			if fmt.Sprint(res.Inputs, res.Outputs) != "[pixels] [scores]" {
				t.Errorf("session inputs %v, outputs %v, want [pixels] [scores]", res.Inputs, res.Outputs)
			}
			want := predict(m, images, N)
			if fmt.Sprint(res.Dims) != fmt.Sprint(want.Shape) || res.Type != "float32" || len(res.Data) != want.Len() {
				t.Fatalf("onnxruntime scores %s %v (%d values), Predict float32 %v", res.Type, res.Dims, len(res.Data), want.Shape)
			}
			d := maxAbsDiff(res.Data, want.Data)
			overall = max(overall, d)
			agree, correct := 0, 0
			K := want.Cols()
			labels := labelsFor(K, testSet.Labels[:N])
			for n := range N {
				got := make([]float32, K)
				for k := range got {
					got[k] = float32(res.Data[n*K+k])
				}
				p := decision(want.Data[n*K : (n+1)*K])
				if decision(got) == p {
					agree++
				}
				if p == int(labels[n]) {
					correct++
				}
			}
			t.Logf("max |onnxruntime - Predict| = %.3g; same class on %d/%d; Predict right on %d/%d", d, agree, N, correct, N)
			if d > tolerance {
				t.Errorf("max |onnxruntime - Predict| = %.3g, want ≤ %g", d, tolerance)
			}

			// The int8 form (calibrated on 500 training images), exported in QDQ form.
			// Run operator by operator as the specification defines them, onnxruntime
			// must give the int8 Predict's scores; with its graph optimizations (the
			// QDQ pairs fused into its own integer kernels, whose rounding and 16-bit
			// intermediate sums on some CPUs differ from oneDNN's) the same classes.
			if c.net != nil {
				return // assembled by hand: no architecture to rebuild the int8 replica from
			}
			if err := kernels.Int8(); err != nil {
				// The pure-Go build's row kernels give the same integers, but its float32
				// layers between them (batch norm, in Go) can round a value an ulp
				// apart, which the next quantization can turn into a step (the CNN:
				// 0.0015 apart); digitnet offers int8 only with oneDNN.
				t.Logf("int8 export not compared: %v", err)
				return
			}
			q, err := m.Quantized(trainSet.Images[:500*784], 500)
			if err != nil {
				t.Fatal(err)
			}
			qpath := filepath.Join(t.TempDir(), "model-int8.onnx")
			writeExport(t, qpath, q)
			want8 := predict(q, images, N)
			spec := runORT(t, nodeBin, script, ortDir, qpath, inputPath, N, "disabled")
			if len(spec.Data) != want8.Len() {
				t.Fatalf("onnxruntime int8 scores: %d values, Predict %d", len(spec.Data), want8.Len())
			}
			d8 := maxAbsDiff(spec.Data, want8.Data)
			fused := runORT(t, nodeBin, script, ortDir, qpath, inputPath, N)
			same := 0
			for n := range N {
				got := make([]float32, K)
				for k := range got {
					got[k] = float32(fused.Data[n*K+k])
				}
				if decision(got) == decision(want8.Data[n*K:(n+1)*K]) {
					same++
				}
			}
			t.Logf("int8: max |onnxruntime (operator by operator) - Predict| = %.3g; fused: max diff %.3g, same class on %d/%d", d8, maxAbsDiff(fused.Data, want8.Data), same, N)
			if d8 > tolerance {
				t.Errorf("int8: max |onnxruntime (operator by operator) - Predict| = %.3g, want ≤ %g", d8, tolerance)
			}
			if same < N-2 {
				t.Errorf("int8: onnxruntime's fused integer kernels pick the int8 Predict's class on %d of %d images, want at least %d", same, N, N-2)
			}
		})
	}
	t.Logf("max |onnxruntime - Predict| over all models: %.3g", overall)
}

// ortResult is what testdata/ort.js prints: the session's names and the scores.
type ortResult struct {
	Inputs, Outputs []string
	Dims            []int
	Type            string
	Data            []float64
}

// runORT runs the ONNX model at path in onnxruntime-node on the n images in inputPath
// (opt "disabled": without graph optimizations, see testdata/ort.js).
func runORT(t *testing.T, nodeBin, script, ortDir, path, inputPath string, n int, opt ...string) ortResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), nodeBin, append([]string{script, path, inputPath, fmt.Sprint(n), "784"}, opt...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(ortDir, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("onnxruntime-node: %v\n%s", err, stderr.Bytes())
	}
	var res ortResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("onnxruntime-node output: %v\n%.200s", err, out)
	}
	return res
}

// decision is the class for one example's scores: the largest, or for a single output
// (a binary classifier) 1 when it is above ½.
func decision(scores []float32) int {
	if len(scores) == 1 {
		if scores[0] > 0.5 {
			return 1
		}
		return 0
	}
	return nn.Argmax(scores)
}

// labelsFor returns MNIST's labels for a network of K outputs: the digits, or for a
// binary classifier (K = 1) whether the digit is 5 or more.
func labelsFor(K int, digits []uint8) []uint8 {
	if K != 1 {
		return digits
	}
	out := make([]uint8, len(digits))
	for i, d := range digits {
		if d >= 5 {
			out[i] = 1
		}
	}
	return out
}

// trainBriefly trains net for two epochs on 5000 MNIST images, so the test compares
// weights shaped by data rather than by the initializer alone.
func trainBriefly(t *testing.T, net *nn.Network, trainSet, testSet *dataset.Set, scale, offset float32, src *rand.PCG) {
	t.Helper()
	out, err := outSize(net)
	if err != nil {
		t.Fatal(err)
	}
	data := func(s *dataset.Set, n int) train.Data {
		return &train.Bytes{Pixels: s.Images[:n*784], Labels: labelsFor(out, s.Labels[:n]),
			ExampleShape: net.InShape, Scale: scale, Offset: offset}
	}
	opt, err := optim.New("adam", 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.Config{Epochs: 2, BatchSize: 32, Shuffle: true, RunningTrainAccuracy: true}
	res, err := train.Run(t.Context(), net, opt, data(trainSet, 5000), data(testSet, 1000), cfg, src, nil)
	if err != nil {
		t.Fatalf("training: %v", err)
	}
	t.Logf("trained %d epochs: test accuracy %.3f", res.EpochsDone, res.Test.Accuracy)
}

// outSize is the number of outputs of net.
func outSize(net *nn.Network) (int, error) {
	shape := net.InShape
	for _, l := range net.Layers {
		var err error
		if shape, err = l.OutShape(shape); err != nil {
			return 0, err
		}
	}
	return shape[0], nil
}

// writeExport exports m into a new file at path.
func writeExport(t *testing.T, path string, m *model.Model) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := onnx.Export(f, m); err != nil {
		f.Close()
		t.Fatalf("Export: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// float32Bytes encodes v little-endian, as ort.js reads it.
func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// installORT returns the directory holding node_modules/onnxruntime-node, installing
// the package there with npm when it is missing. npm works in a fresh directory renamed
// into place at the end, so an interrupted install leaves nothing half done.
//
// The package bundles the CPU runtime; its postinstall script only downloads extras
// (CUDA) from a host outside the npm registry, so scripts are not run
// (--ignore-scripts, and ONNXRUNTIME_NODE_INSTALL=skip, which the script itself
// honours, for an npm that runs them anyway).
func installORT(t *testing.T) (string, error) {
	dir := os.Getenv(envORTDir)
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory (set %s): %w", envORTDir, err)
		}
		dir = filepath.Join(cache, "digitnet", "onnxruntime-node")
	}
	pkg := filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")
	if _, err := os.Stat(pkg); err == nil {
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("not in %s, and no npm to install it: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".onnxruntime-node-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // after a successful rename, nothing is left there
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	t.Logf("installing onnxruntime-node@%s into %s", ortVersion, dir)
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", tmp, "--ignore-scripts",
		"--no-audit", "--no-fund", "--loglevel=error", "onnxruntime-node@"+ortVersion)
	cmd.Env = append(os.Environ(), "ONNXRUNTIME_NODE_INSTALL=skip")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(pkg); statErr == nil {
			return dir, nil // another test process installed it meanwhile
		}
		return "", err
	}
	return dir, nil
}

// TestCheckerAcceptsExport gives the exported files to the ONNX project's checker, with
// shape inference, when a python3 with the onnx module (Debian's python3-onnx) is found.
func TestCheckerAcceptsExport(t *testing.T) {
	python := findPythonONNX()
	if python == "" {
		t.Skip("no python3 with the onnx module (Debian: apt-get install python3-onnx)")
	}
	for _, c := range netCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.onnx")
			writeExport(t, path, newModel(t, c, rand.New(rand.NewPCG(11, 12))))
			checkModel(t, python, path)
		})
	}
}

// findPythonONNX returns a python3 that imports onnx, or "".
func findPythonONNX() string {
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3") // Debian's, where python3-onnx goes
	for _, p := range candidates {
		if exec.Command(p, "-c", "import onnx").Run() == nil {
			return p
		}
	}
	return ""
}

// checkModel runs the ONNX checker, shape inference included, on the file at path.
func checkModel(t *testing.T, python, path string) {
	t.Helper()
	const script = `import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print("onnx", onnx.__version__)`
	out, err := exec.CommandContext(t.Context(), python, "-c", script, path).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Errorf("onnx.checker rejects the export:\n%s", out)
	case err != nil:
		t.Fatalf("running %s: %v", python, err)
	default:
		t.Logf("accepted by %s", strings.TrimSpace(string(out)))
	}
}
