package augment_test

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/train"
)

var render = flag.String("render", "", "write grids of augmented MNIST digits (PNG and text) into this directory")

// typical is the configuration the brief calls typical.
var typical = augment.Config{Translate: 2, Rotate: 10, Scale: 0.1, Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 4}}

// random returns n random 28×28 images with labels, mapped as inputs in [0,1] are.
func random(n int, shape []int) *train.Bytes {
	r := rand.New(rand.NewPCG(1, 2))
	b := &train.Bytes{Pixels: make([]uint8, n*784), Labels: make([]uint8, n), ExampleShape: shape, Scale: 1.0 / 255, Offset: -0.1}
	for i := range b.Pixels {
		b.Pixels[i] = uint8(r.IntN(256))
	}
	for i := range b.Labels {
		b.Labels[i] = uint8(r.IntN(10))
	}
	return b
}

var (
	mnistOnce sync.Once
	mnistSet  *dataset.Set
	mnistErr  error
)

// mnist returns MNIST's training images as bytes (Scale 1, so a batch holds the bytes'
// values), skipping the test when the data set is not at hand.
func mnist(tb testing.TB) *train.Bytes {
	tb.Helper()
	mnistOnce.Do(func() {
		mnistSet, _, mnistErr = dataset.Load(context.Background(), dataset.Options{Dataset: "mnist", Getenv: func(string) string { return "" }})
	})
	if mnistErr != nil {
		tb.Skipf("MNIST unavailable: %v", mnistErr)
	}
	s := mnistSet
	return &train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: []int{s.Rows * s.Cols}, Scale: 1}
}

// batch reads examples idx of d.
func batch(d train.Data, idx []int) ([]float32, []int) {
	x := make([]float32, len(idx)*784)
	labels := make([]int, len(idx))
	d.Batch(idx, x, labels)
	return x, labels
}

func span(lo, n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = lo + i
	}
	return idx
}

func TestIdentity(t *testing.T) {
	for _, shape := range [][]int{{784}, {28, 28}, {1, 28, 28}} {
		src := random(300, shape)
		idx := []int{5, 0, 299, 5, 17}
		idx = append(idx, span(100, 100)...) // enough images for every core
		want, wantLabels := batch(src, idx)
		d := augment.New(src, augment.Config{}, 42)
		if !slices.Equal(d.Shape(), shape) || d.Len() != 300 {
			t.Errorf("shape %v: New: Shape %v, Len %d, want %v, 300", shape, d.Shape(), d.Len(), shape)
		}
		for call := range 2 {
			got, labels := batch(d, idx)
			if !slices.Equal(got, want) {
				t.Errorf("shape %v, call %d: zero Config changed the images", shape, call)
			}
			if !slices.Equal(labels, wantLabels) {
				t.Errorf("shape %v, call %d: labels %v, want %v", shape, call, labels[:5], wantLabels[:5])
			}
		}
	}
}

func TestLabels(t *testing.T) {
	src := random(500, []int{784})
	d := augment.New(src, typical, 1)
	idx := rand.New(rand.NewPCG(3, 4)).Perm(500)[:200]
	_, got := batch(d, idx)
	for j, i := range idx {
		if got[j] != int(src.Labels[i]) {
			t.Fatalf("label %d (example %d) = %d, want %d", j, i, got[j], src.Labels[i])
		}
	}
}

// calls reads idxs in turn from a new Data of seed and returns the batches.
func calls(src *train.Bytes, cfg augment.Config, seed uint64, idxs [][]int) [][]float32 {
	d := augment.New(src, cfg, seed)
	var out [][]float32
	for _, idx := range idxs {
		x, _ := batch(d, idx)
		out = append(out, x)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	src := random(1000, []int{784})
	r := rand.New(rand.NewPCG(5, 6))
	idxs := [][]int{r.Perm(1000)[:128], r.Perm(1000)[:128], r.Perm(1000)[:7], r.Perm(1000)[:128]}
	procs := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(procs)
	want := calls(src, typical, 9, idxs)

	// A second wrapper with the same seed, on 1 and 2 threads.
	for _, p := range []int{1, 2} {
		runtime.GOMAXPROCS(p)
		for k, got := range calls(src, typical, 9, idxs) {
			if !slices.Equal(got, want[k]) {
				t.Errorf("GOMAXPROCS %d, call %d: batch differs from the first run's", p, k)
			}
		}
	}
	runtime.GOMAXPROCS(2)

	// Another seed, and successive calls, give other distortions.
	other := calls(src, typical, 10, idxs)
	for k := range idxs {
		if slices.Equal(other[k], want[k]) {
			t.Errorf("call %d: seeds 9 and 10 gave the same batch", k)
		}
	}
	same := calls(src, typical, 9, [][]int{idxs[0], idxs[0]})
	if slices.Equal(same[0], same[1]) {
		t.Errorf("two calls with the same indices gave the same batch")
	}

	// Resuming from State repeats the rest of the sequence.
	d := augment.New(src, typical, 9)
	batch(d, idxs[0])
	batch(d, idxs[1])
	state := d.State()
	if state != 2 {
		t.Errorf("State after 2 calls = %d, want 2", state)
	}
	resumed := augment.New(src, typical, 9)
	resumed.SetState(state)
	for k := 2; k < len(idxs); k++ {
		if got, _ := batch(resumed, idxs[k]); !slices.Equal(got, want[k]) {
			t.Errorf("resumed at state %d: call %d differs from the uninterrupted run's", state, k)
		}
	}
}

// TestPrefetch checks that Prefetch changes no batch, whether its hint is right,
// wrong, or followed by SetState.
func TestPrefetch(t *testing.T) {
	src := random(1000, []int{784})
	r := rand.New(rand.NewPCG(7, 8))
	idxs := make([][]int, 6)
	for k := range idxs {
		idxs[k] = r.Perm(1000)[:100]
	}
	want := calls(src, typical, 4, idxs)
	for _, tc := range []struct {
		name string
		hint func(k int) []int // the hint given after call k, nil for none
	}{
		{"right", func(k int) []int {
			if k+1 < len(idxs) {
				return idxs[k+1]
			}
			return nil
		}},
		{"wrong", func(k int) []int { return idxs[k] }},
		{"short", func(k int) []int {
			if k+1 < len(idxs) {
				return idxs[k+1][:50]
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := augment.New(src, typical, 4)
			d.Prefetch(idxs[0])
			for k, idx := range idxs {
				if got, _ := batch(d, idx); !slices.Equal(got, want[k]) {
					t.Errorf("call %d differs from the batch without Prefetch", k)
				}
				if next := tc.hint(k); next != nil {
					d.Prefetch(next)
				}
			}
		})
	}
	// A Prefetch made before SetState is dropped.
	d := augment.New(src, typical, 4)
	d.Prefetch(idxs[0])
	d.SetState(3)
	ref := augment.New(src, typical, 4)
	ref.SetState(3)
	got, _ := batch(d, idxs[0])
	if wantAt3, _ := batch(ref, idxs[0]); !slices.Equal(got, wantAt3) {
		t.Errorf("after SetState(3), Batch gave another batch than call 3's")
	}
}

// TestPosition checks that an image's distortion depends on its position in the batch
// and the call number, not on the other images of the batch.
func TestPosition(t *testing.T) {
	src := random(1000, []int{784})
	a := calls(src, typical, 3, [][]int{span(0, 128)})[0]
	idx := span(0, 128)
	idx[5], idx[100] = 999, 998
	b := calls(src, typical, 3, [][]int{idx})[0]
	for j := range 128 {
		same := slices.Equal(a[j*784:(j+1)*784], b[j*784:(j+1)*784])
		if want := j != 5 && j != 100; same != want {
			t.Errorf("image %d the same after other images changed: %v, want %v", j, same, want)
		}
	}
}

// TestMass checks that distorted digits keep about their ink: the mean over digits
// within 3 %, and each digit within ±35 % but for a few. The affine distortions alone keep
// every digit within ±35 % (scaling by 1±0.1 alone changes the ink by up to 21 %). The
// elastic field stretches and squeezes areas (at σ 4 its divergence is about ±0.35
// r.m.s. per pixel), and at Simard et al.'s strength, α 34 σ 4, about 2.5 % of digits
// gain or lose more than 35 % (extremes ×0.45 and ×2, a thin 8 thickened into a blob);
// at σ 6 hardly any do.
func TestMass(t *testing.T) {
	src := mnist(t)
	for _, tc := range []struct {
		name    string
		cfg     augment.Config
		outside float64 // the largest fraction of digits allowed outside ±35 %
	}{
		{"affine", augment.Config{Translate: 2, Rotate: 12, Scale: 0.1}, 0},
		{"elastic σ6", augment.Config{Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 6}}, 0.005},
		{"elastic σ4", augment.Config{Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 4}}, 0.04},
		{"typical", typical, 0.09},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 3000
			d := augment.New(src, tc.cfg, 1)
			idx := span(0, n)
			want, _ := batch(src, idx)
			got, _ := batch(d, idx)
			var mean, outside float64
			lo, hi := math.Inf(1), 0.0
			for j := range idx {
				r := sum(got[j*784:(j+1)*784]) / sum(want[j*784:(j+1)*784])
				mean += r / n
				if r < 0.65 || r > 1.35 {
					outside += 1.0 / n
				}
				lo, hi = min(lo, r), max(hi, r)
			}
			if math.Abs(mean-1) > 0.03 {
				t.Errorf("digits keep %.1f%% of their ink on average, want 97..103%%", 100*mean)
			}
			if outside > tc.outside {
				t.Errorf("%.1f%% of digits keep less than 65%% or more than 135%% of their ink, want at most %.1f%%", 100*outside, 100*tc.outside)
			}
			t.Logf("ink kept: mean %.1f%%, range %.0f%% to %.0f%%, %.1f%% of digits outside ±35%%", 100*mean, 100*lo, 100*hi, 100*outside)
		})
	}
}

func sum(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  augment.Config
		want string // "" for valid
	}{
		{augment.Config{}, ""},
		{typical, ""},
		{augment.Config{Rotate: 180, Scale: 0.99, Translate: 1000, Elastic: augment.ElasticConfig{Alpha: 1000, Sigma: 1000}}, ""},
		{augment.Config{Elastic: augment.ElasticConfig{Sigma: 0.5}}, ""}, // off: σ unused
		{augment.Config{Translate: -1}, "translate -1"},
		{augment.Config{Rotate: 181}, "rotate 181"},
		{augment.Config{Rotate: math.NaN()}, "rotate NaN"},
		{augment.Config{Scale: 1}, "scale 1"},
		{augment.Config{Scale: 1.5}, "scale 1.5"},
		{augment.Config{Translate: math.Inf(1)}, "translate +Inf"},
		{augment.Config{Translate: 1001}, "translate 1001"},
		{augment.Config{Elastic: augment.ElasticConfig{Alpha: 1e6, Sigma: 4}}, "alpha 1e+06"},
		{augment.Config{Elastic: augment.ElasticConfig{Alpha: 34}}, "sigma 0"},
		{augment.Config{Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 0.9}}, "sigma 0.9"},
		{augment.Config{Elastic: augment.ElasticConfig{Alpha: -1, Sigma: 4}}, "alpha -1"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: Validate() = %v, want nil", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: Validate() = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// TestExtreme checks that the most extreme configurations Validate accepts distort
// without trouble.
func TestExtreme(t *testing.T) {
	src := random(64, []int{1, 28, 28})
	for _, cfg := range []augment.Config{
		{Translate: 1000, Rotate: 180, Scale: 0.99, Elastic: augment.ElasticConfig{Alpha: 1000, Sigma: 1}},
		{Translate: 1000, Rotate: 180, Scale: 0.99, Elastic: augment.ElasticConfig{Alpha: 1000, Sigma: 1000}},
		{Scale: 0.99, Elastic: augment.ElasticConfig{Alpha: 1000, Sigma: 1.5}},
		{Rotate: 180, Elastic: augment.ElasticConfig{Alpha: 0.001, Sigma: 1}},
	} {
		d := augment.New(src, cfg, 1)
		for range 3 {
			batch(d, span(0, 64))
		}
	}
}

func TestNewPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  *train.Bytes
		cfg  augment.Config
		want string
	}{
		{"bad config", random(1, []int{784}), augment.Config{Scale: 2}, "augment: scale 2"},
		{"not square", &train.Bytes{Pixels: make([]uint8, 10), Labels: make([]uint8, 1), ExampleShape: []int{10}}, augment.Config{}, "example shape [10]"},
		{"channels", &train.Bytes{Pixels: make([]uint8, 8), Labels: make([]uint8, 1), ExampleShape: []int{2, 2, 2}}, augment.Config{}, "example shape [2 2 2]"},
		{"pixels", &train.Bytes{Pixels: make([]uint8, 10), Labels: make([]uint8, 1), ExampleShape: []int{4}}, augment.Config{}, "10 pixels for 1 examples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("New panicked with %v, want a message containing %q", r, tc.want)
				}
			}()
			augment.New(tc.src, tc.cfg, 1)
		})
	}
}

func TestBatchPanics(t *testing.T) {
	d := augment.New(random(10, []int{784}), typical, 1)
	for _, tc := range []struct {
		name    string
		idx     []int
		x, labs int
		want    string
	}{
		{"short x", []int{1, 2}, 783, 2, "2 indices into 783 values and 2 labels, want 1568 and 2"},
		{"labels", []int{1, 2}, 1568, 1, "2 indices into 1568 values and 1 labels"},
		{"index", []int{1, 10}, 1568, 2, "index 10 outside 10 examples"},
		{"negative", []int{-1}, 784, 1, "index -1 outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("Batch panicked with %v, want a message containing %q", r, tc.want)
				}
			}()
			d.Batch(tc.idx, make([]float32, tc.x), make([]int, tc.labs))
		})
	}
	if d.State() != 0 {
		t.Errorf("State after failed calls = %d, want 0", d.State())
	}
}

// TestRender writes grids of augmented digits for a person to look at:
//
//	go test ./augment -run Render -render /tmp/augment
func TestRender(t *testing.T) {
	if *render == "" {
		t.Skip("no -render directory")
	}
	src := mnist(t)
	if err := os.MkdirAll(*render, 0o755); err != nil {
		t.Fatal(err)
	}
	const cols = 10 // each row: the original, then nine distortions of it
	for _, tc := range []struct {
		name string
		cfg  augment.Config
	}{
		{"elastic", augment.Config{Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 4}}},
		{"affine", augment.Config{Translate: 2, Rotate: 12, Scale: 0.1}},
		{"typical", typical},
		{"strong", augment.Config{Translate: 3, Rotate: 15, Scale: 0.15, Elastic: augment.ElasticConfig{Alpha: 38, Sigma: 4}}},
		{"pen", augment.Config{Translate: 2, Rotate: 10, Scale: 0.1, Stroke: 0.7, Blur: 1}},
		{"widen", augment.Config{Widen: 1}},
	} {
		d := augment.New(src, tc.cfg, 1)
		rows := span(0, 12)
		var imgs [][]uint8
		for _, i := range rows {
			orig, _ := batch(src, []int{i})
			imgs = append(imgs, toBytes(orig))
			for range cols - 1 {
				x, _ := batch(d, []int{i})
				imgs = append(imgs, toBytes(x))
			}
		}
		if err := writeGrid(filepath.Join(*render, tc.name+".png"), imgs, cols); err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for r := range rows {
			text.WriteString(sideBySide(imgs[r*cols : r*cols+5]))
		}
		if err := os.WriteFile(filepath.Join(*render, tc.name+".txt"), []byte(text.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func toBytes(x []float32) []uint8 {
	b := make([]uint8, len(x))
	for i, v := range x {
		b[i] = uint8(v)
	}
	return b
}

// sideBySide renders 28×28 images as ASCII art in a row.
func sideBySide(imgs [][]uint8) string {
	var lines [28]string
	for _, px := range imgs {
		for y, l := range strings.Split(strings.TrimSuffix(digit.ASCII(px), "\n"), "\n") {
			lines[y] += fmt.Sprintf("%-28s|", l)
		}
	}
	return strings.Join(lines[:], "\n") + "\n\n"
}

// writeGrid writes 28×28 images as a PNG grid, ink black on white, 3× enlarged.
func writeGrid(path string, imgs [][]uint8, cols int) error {
	const s, cell = 3, 30
	rows := (len(imgs) + cols - 1) / cols
	img := image.NewGray(image.Rect(0, 0, cols*cell*s, rows*cell*s))
	for i := range img.Pix {
		img.Pix[i] = 160
	}
	for k, px := range imgs {
		ox, oy := (k%cols)*cell*s+s, (k/cols)*cell*s+s
		for y := range 28 * s {
			for x := range 28 * s {
				img.SetGray(ox+x, oy+y, color.Gray{255 - px[(y/s)*28+x/s]})
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkBatch times a batch of 128 MNIST digits, on as many threads as -cpu says;
// ns/image is per image of the batch.
func BenchmarkBatch(b *testing.B) {
	src := mnist(b)
	for _, tc := range []struct {
		name string
		cfg  augment.Config
	}{
		{"none", augment.Config{}},
		{"affine", augment.Config{Translate: 2, Rotate: 10, Scale: 0.1}},
		{"elastic", augment.Config{Elastic: augment.ElasticConfig{Alpha: 34, Sigma: 4}}},
		{"typical", typical},
	} {
		b.Run(tc.name, func(b *testing.B) {
			d := augment.New(src, tc.cfg, 1)
			idx := rand.New(rand.NewPCG(1, 1)).Perm(src.Len())[:128]
			x := make([]float32, 128*784)
			labels := make([]int, 128)
			b.ReportAllocs()
			for b.Loop() {
				d.Batch(idx, x, labels)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/128, "ns/image")
		})
	}
}

// BenchmarkNew times New with the elastic distortion, which fills the bank of fields.
func BenchmarkNew(b *testing.B) {
	src := random(1, []int{784})
	for b.Loop() {
		augment.New(src, typical, 1)
	}
}

// TestFlipX: with only FlipX, each image comes back either unchanged or mirrored left to
// right, both happen, and the same call number gives the same choices.
func TestFlipX(t *testing.T) {
	src := random(200, []int{1, 28, 28})
	idx := span(0, 200)
	orig, _ := batch(src, idx)
	var runs [2][]float32
	for k := range runs {
		d := augment.New(src, augment.Config{FlipX: true}, 7)
		runs[k], _ = batch(d, idx)
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Fatal("two runs with one seed flipped different images")
	}
	flipped := 0
	for n := range idx {
		got, want := runs[0][n*784:(n+1)*784], orig[n*784:(n+1)*784]
		if slices.Equal(got, want) {
			continue
		}
		flipped++
		for y := range 28 {
			for x := range 28 {
				if got[y*28+x] != want[y*28+27-x] {
					t.Fatalf("image %d changed but is not the mirror image: (%d,%d) %g, want %g", n, x, y, got[y*28+x], want[y*28+27-x])
				}
			}
		}
	}
	if flipped < 70 || flipped > 130 {
		t.Errorf("%d of 200 images mirrored, want about half", flipped)
	}
}

// inkBox is the bounding box of a 28×28 image's values of at least half ink (128).
func inkBox(x []float32) (x0, x1, y0, y1 int) {
	x0, x1, y0, y1 = 28, -1, 28, -1
	for y := range 28 {
		for i := range 28 {
			if x[y*28+i] >= 128 {
				x0, x1, y0, y1 = min(x0, i), max(x1, i), min(y0, y), max(y1, y)
			}
		}
	}
	return
}

func TestWiden(t *testing.T) {
	// A "1": a vertical bar 4 pixels wide and 20 tall, as MNIST writes it; every image
	// widened (Widen 1) and nothing else distorted.
	const n = 200
	src := &train.Bytes{Pixels: make([]uint8, n*784), Labels: make([]uint8, n), ExampleShape: []int{1, 28, 28}, Scale: 1}
	for k := range n {
		for y := 4; y < 24; y++ {
			for x := 12; x < 16; x++ {
				src.Pixels[k*784+y*28+x] = 255
			}
		}
	}
	x, _ := batch(augment.New(src, augment.Config{Widen: 1}, 3), span(0, n))
	widest := 0
	for k := range n {
		img := x[k*784 : (k+1)*784]
		x0, x1, y0, y1 := inkBox(img)
		if y0 != 4 || y1 != 23 {
			t.Fatalf("image %d: ink rows %d..%d, want 4..23 as the source (widening keeps the height)", k, y0, y1)
		}
		// Widened about the bar's centre (13.5), by at most the height over the
		// width (5: 20 pixels wide), at least not narrower.
		if c := float64(x0+x1) / 2; math.Abs(c-13.5) > 0.5 {
			t.Errorf("image %d: ink centred at column %g, want 13.5", k, c)
		}
		w := x1 - x0 + 1
		if w < 4 || w > 21 {
			t.Errorf("image %d: ink %d pixels wide, want 4 to 20 (and a pixel of interpolation)", k, w)
		}
		widest = max(widest, w)
	}
	if widest < 16 {
		t.Errorf("the widest of %d images is %d pixels, want some near the square's 20", n, widest)
	}
	// Widening is drawn after the affine map: with the same seed, affine-widen's images
	// are affine's, a share of them widened (the same rows of ink, not narrower).
	affine, _ := augment.Preset("affine")
	widen, _ := augment.Preset("affine-widen")
	const m = 64
	a, _ := batch(augment.New(mnist(t), affine, 5), span(0, m))
	b, _ := batch(augment.New(mnist(t), widen, 5), span(0, m))
	same := 0
	for k := range m {
		ia, ib := a[k*784:(k+1)*784], b[k*784:(k+1)*784]
		if slices.Equal(ia, ib) {
			same++
			continue
		}
		ax0, ax1, ay0, ay1 := inkBox(ia)
		bx0, bx1, by0, by1 := inkBox(ib)
		if iabs(ay0-by0) > 1 || iabs(ay1-by1) > 1 || bx1-bx0 < ax1-ax0 {
			t.Errorf("image %d: affine's ink %d..%d × %d..%d, widened %d..%d × %d..%d: want the same rows, not narrower", k, ax0, ax1, ay0, ay1, bx0, bx1, by0, by1)
		}
	}
	if same < m/3 || same == m {
		t.Errorf("%d of %d images as affine makes them, want about two thirds (the others widened)", same, m)
	}
	// A wide image (taller than wide is what widens) is left as the affine part makes it.
	wide := &train.Bytes{Pixels: make([]uint8, 784), Labels: make([]uint8, 1), ExampleShape: []int{1, 28, 28}, Scale: 1}
	for x := 4; x < 24; x++ {
		wide.Pixels[14*28+x] = 255
	}
	got, _ := batch(augment.New(wide, augment.Config{Widen: 1}, 3), []int{0})
	want, _ := batch(wide, []int{0})
	if !slices.Equal(got, want) {
		t.Error("a horizontal bar was changed by widening")
	}
}

func iabs(x int) int { return max(x, -x) }
