package serve

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// testDir holds the models the tests train and write, for the whole test binary.
var testDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "digitnet-serve-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// Every server, connection and handler a test started has ended.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	trainOnce  sync.Once
	trainPath  string
	trainErr   error
	mnistTest  *dataset.Set
	trainedAcc float64
)

// trainedModel is the default network, a 784-300-10 ReLU MLP, trained for two epochs
// on MNIST (about two seconds, once per test binary; ~97.5 % test accuracy).
func trainedModel(t testing.TB) string {
	t.Helper()
	trainOnce.Do(func() {
		start := time.Now()
		trainPath, trainErr = trainModel(filepath.Join(testDir, "mnist-mlp.safetensors"))
		if trainErr == nil {
			t.Logf("trained the test model in %v: test accuracy %.2f%%", time.Since(start).Round(time.Millisecond), 100*trainedAcc)
		}
	})
	if trainErr != nil {
		t.Fatalf("training the test model: %v", trainErr)
	}
	return trainPath
}

func trainModel(path string) (string, error) {
	ctx := context.Background()
	trainSet, testSet, err := dataset.Load(ctx, dataset.Options{Dataset: "mnist", Log: io.Discard})
	if err != nil {
		return "", err
	}
	mnistTest = testSet
	spec := nn.MLP{Sizes: []int{784, 300, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Spec()
	src := rand.NewPCG(1, 2)
	rng := rand.New(src)
	net, err := spec.Build(rng)
	if err != nil {
		return "", err
	}
	data := func(s *dataset.Set) *train.Bytes {
		return &train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: []int{784}, Scale: 1.0 / 255}
	}
	cfg := train.Config{Epochs: 2, BatchSize: 128, Shuffle: true, RunningTrainAccuracy: true}
	res, err := train.Run(ctx, net, optim.NewAdam(2e-3), data(trainSet), data(testSet), cfg, src, nil)
	if err != nil {
		return "", err
	}
	trainedAcc = res.Test.Accuracy
	m := &model.Model{Arch: spec, Net: net, Input: model.Input{Scale: 1.0 / 255}, Dataset: "mnist", Classes: testSet.Classes,
		Training: model.Summary{Epochs: 2, Seed: 1, TrainAccuracy: res.Train.Accuracy, TestAccuracy: res.Test.Accuracy,
			Date: time.Now().UTC().Format(time.RFC3339), Optimizer: "adam"}}
	return path, model.Save(path, m)
}

// untrainedModel writes a randomly initialized MLP of the given sizes (fast) and
// returns its file.
func untrainedModel(t testing.TB, name string, sizes ...int) string {
	t.Helper()
	spec := nn.MLP{Sizes: sizes, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Spec()
	net, err := spec.Build(rand.New(rand.NewPCG(7, uint64(len(name)))))
	if err != nil {
		t.Fatal(err)
	}
	classes := make([]string, sizes[len(sizes)-1])
	for k := range classes {
		classes[k] = fmt.Sprint(k)
	}
	path := filepath.Join(t.TempDir(), name)
	m := &model.Model{Arch: spec, Net: net, Input: model.Input{Scale: 1.0 / 255}, Dataset: "mnist", Classes: classes}
	if err := model.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// newServer returns a server for the model files at path (comma-separated: an
// ensemble), logging to the test's output. reload points it at other files.
func newServer(t testing.TB, path string, opt Options) *Server {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = testLogger(t)
	}
	l := &pathLoader{path: path}
	s, err := New(l.load, opt)
	if err != nil {
		t.Fatal(err)
	}
	loaders.Store(s, l)
	return s
}

// pathLoader loads the model files at a path a test may change, as an operator replaces
// the file before SIGHUP.
type pathLoader struct {
	mu   sync.Mutex
	path string
}

func (l *pathLoader) load() (*model.Ensemble, error) {
	l.mu.Lock()
	path := l.path
	l.mu.Unlock()
	return Files(strings.Split(path, ",")...)()
}

// loaders are the newServer servers' loaders.
var loaders sync.Map // *Server → *pathLoader

// reload makes s serve the model files at path: Reload with its loader pointed there.
func reload(s *Server, path string) error {
	l, _ := loaders.Load(s)
	l.(*pathLoader).mu.Lock()
	l.(*pathLoader).path = path
	l.(*pathLoader).mu.Unlock()
	return s.Reload()
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// do sends a request straight to the handler.
func do(t testing.TB, h http.Handler, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// stroke is a polyline in unit coordinates, (0,0) top left of the digit's box.
type stroke [][2]float64

// digitStrokes are a few digits drawn the way a person draws them.
var digitStrokes = map[int][]stroke{
	0: {ellipse(0.5, 0.5, 0.34, 0.46)},
	1: {{{0.38, 0.2}, {0.56, 0.04}, {0.56, 0.96}}},
	2: {{{0.18, 0.25}, {0.35, 0.06}, {0.62, 0.04}, {0.8, 0.2}, {0.78, 0.42}, {0.2, 0.95}, {0.85, 0.95}}},
	3: {{{0.2, 0.12}, {0.5, 0.03}, {0.78, 0.15}, {0.78, 0.35}, {0.45, 0.48}, {0.8, 0.62}, {0.8, 0.85}, {0.5, 0.97}, {0.18, 0.88}}},
	4: {{{0.62, 0.05}, {0.12, 0.65}, {0.9, 0.65}}, {{0.65, 0.3}, {0.65, 0.97}}},
	7: {{{0.15, 0.08}, {0.85, 0.08}, {0.42, 0.96}}},
}

func ellipse(cx, cy, rx, ry float64) stroke {
	var s stroke
	for a := 0.0; a <= 2*math.Pi+0.01; a += math.Pi / 24 {
		s = append(s, [2]float64{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	return s
}

// drawDigit renders digit d as dark ink on white paper, side×side pixels, with a pen
// of the given radius, anti-aliased: what the drawing page sends.
func drawDigit(d, side int, pen float64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, side, side))
	box := 0.7 * float64(side)
	x0, y0 := (float64(side)-box*0.8)/2, (float64(side)-box)/2
	var segs [][4]float64
	for _, s := range digitStrokes[d] {
		for i := 0; i+1 < len(s); i++ {
			segs = append(segs, [4]float64{x0 + s[i][0]*box*0.8, y0 + s[i][1]*box, x0 + s[i+1][0]*box*0.8, y0 + s[i+1][1]*box})
		}
	}
	for y := range side {
		for x := range side {
			dist := math.Inf(1)
			px, py := float64(x)+0.5, float64(y)+0.5
			for _, g := range segs {
				dist = min(dist, segDist(px, py, g))
			}
			cover := math.Max(0, math.Min(1, pen+0.5-dist))
			img.SetGray(x, y, color.Gray{uint8(255 - math.Round(cover*235))})
		}
	}
	return img
}

func segDist(px, py float64, g [4]float64) float64 {
	dx, dy := g[2]-g[0], g[3]-g[1]
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((px-g[0])*dx+(py-g[1])*dy)/l))
	}
	return math.Hypot(px-g[0]-t*dx, py-g[1]-t*dy)
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mnistPNG is test image i of MNIST as a 28×28 grayscale PNG (white digit on black).
func mnistPNG(t testing.TB, i int) []byte {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	copy(img.Pix, mnistTest.Image(i))
	return pngOf(t, img)
}

// pixelsJSON is {"pixels":[…]} for the given bytes.
func pixelsJSON(px []uint8) []byte {
	var b strings.Builder
	b.WriteString(`{"pixels":[`)
	for i, v := range px {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, v)
	}
	b.WriteString("]}")
	return []byte(b.String())
}
