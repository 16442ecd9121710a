// Package augment distorts training images on the fly: random rotation, scaling and
// translation about the image centre, and the elastic distortion of Simard, Steinkraus
// and Platt (2003), "Best practices for convolutional neural networks applied to visual
// document analysis". Data wraps a train.Bytes and is itself a train.Data, so the
// training loop does not know it is there.
//
// Each image is resampled once: an output pixel p reads the source at T(p + Δ(p)), where
// T is the inverse of the random affine map and Δ the elastic displacement field,
// with bilinear interpolation and background (0) outside the source. The result is
// rounded to a byte, like the source pixels, and mapped to floats with the source's
// Scale and Offset, so the zero Config reproduces the source exactly.
//
// # Determinism
//
// Data counts its Batch calls. Image j (its position in idx) of call number c (c is
// State() before the call, 0 after New) draws its distortion from
//
//	rand.New(rand.NewPCG(seed, c<<20 | j))
//
// in this order: rotation, scale, x shift, y shift (each uniform, one Float64), then,
// with the elastic distortion on, the two fields of the bank combined (a = IntN(1024),
// b = (a + 1 + IntN(1023)) mod 1024) and their signs (bits 0 and 1 of a Uint64, set
// for minus; see ElasticConfig), then, with Widen on, whether to widen (a Float64
// below Widen) and, if so, by how much (u, a Float64), then, with FlipX on, the
// mirroring (bit 0 of a Uint64, set for mirrored), then with Stroke on the pen's
// change and with Blur on the blur's σ (a Float64 each). A batch therefore depends on the seed, the call
// number, the positions and the source images only, never on GOMAXPROCS or on which
// goroutine computed which image; and a run restored from a checkpoint repeats the
// distortions of the original once SetState has restored the counter. A batch holds at
// most 1<<20 images.
//
// Every Batch call counts, including evaluation passes over the training set. The
// arithmetic is the same on every run of one build; other platforms or GOAMD64 levels
// may round differently (Go fuses multiply-adds on some), so batches are bit-identical
// per build, not across all platforms.
//
// # Cost
//
// Measured on the 2-core reference machine with BenchmarkBatch, a batch of 128 MNIST
// digits with Translate 2, Rotate 10, Scale 0.1 and Elastic α 34 σ 4 takes 0.54 ms on
// one core (4.2 µs a digit) and 0.34 ms when Batch spreads it over both; the affine
// distortions alone take 0.27 and 0.20 ms. New fills the elastic bank in 4.4 ms.
// A 784-300-10 training step of that batch size takes 0.8 ms, its products using both
// cores, and OpenBLAS's threads keep the second core busy between products too, so in
// the training loop Batch adds about 0.6 ms a step. A loop that calls Prefetch with
// the next batch's indices right after Batch overlaps the work with the step instead;
// with OpenBLAS on one thread (kernels.SetThreads(1), 1.24 ms a step without
// augmentation) the augmented step then took 1.22 ms.
package augment

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// Config sets the distortions. Each parameter is drawn independently per image,
// uniformly in its range; the zero Config leaves images unchanged.
type Config struct {
	// Translate is the largest shift in pixels: x and y are each shifted by a value
	// uniform in ±Translate (e.g. 2).
	Translate float64
	// Rotate is the largest rotation in degrees, uniform in ±Rotate; positive turns
	// anticlockwise as the image is displayed (e.g. 12).
	Rotate float64
	// Scale is the largest relative size change: the digit is scaled by a factor
	// uniform in 1±Scale (e.g. 0.1).
	Scale float64
	// Elastic is applied after the affine part.
	Elastic ElasticConfig
	// FlipX mirrors half the images left to right, after the other distortions: for
	// classes that look the same mirrored (Fashion-MNIST's clothes), not for digits.
	FlipX bool
	// Stroke is the largest change of the pen, in [0, 1]: strokes are thickened or
	// thinned (a fraction uniform in ±Stroke of a one-pixel grey-level dilation or
	// erosion), for pens finer or fatter than MNIST writers'.
	Stroke float64
	// Blur is the largest Gaussian blur, in pixels (σ uniform in [0, Blur]), for photos'
	// soft edges.
	Blur float64
	// Widen is the share of images, in [0, 1], stretched sideways towards a square
	// before the other distortions: the ink's width scaled about its centre by
	// 1 + u·(height/width - 1), u uniform in [0, 1], when the ink is taller than wide.
	// Scanned digit sets often stretched each digit to fill a square box (USPS,
	// Semeion, UCI optdigits: a "1" becomes a wide slanted bar); MNIST kept the
	// shape.
	Widen float64
}

// ElasticConfig is Simard et al.'s elastic distortion: each pixel is displaced by a
// random field, uniform noise in ±1 per pixel (for x and y separately) smoothed by a
// Gaussian of Sigma pixels and multiplied by Alpha. Zero Alpha disables it. For 28×28
// digits Simard et al. used σ 4 and α 34: displacements of about 1.4 pixels r.m.s.
// in each direction, varying smoothly over about σ.
//
// Making such a field costs more than the rest of a distortion, so New makes a bank of
// 1024 of them, and each image is displaced by a combination of two, (±F_a ± F_b)/√2,
// which has the same covariance: 4·1024·1023 distinct fields.
//
// A field of the bank is not made per pixel either. The same random field (the same
// Gaussian covariance) comes from far less noise: noise uniform in ±σ on a lattice of
// spacing σ reaching σ beyond the image (each point carries the power of the σ² pixels
// it stands for), smoothed by the same Gaussian. Its value is computed on a grid of
// nodes a power of two pixels apart, at most 3σ/4, and interpolated bilinearly in
// between (at σ 4, nodes 2 pixels apart and 2.9 % r.m.s. off the exact field, 0.04
// pixels at α 34). The bank's noise comes from
// rand.NewPCG(seed, 1<<64-1) as Uint64s, each giving two values (high 32 bits first):
// field after field, x then y, each lattice row by row.
type ElasticConfig struct {
	Alpha float64 // displacement scale in pixels
	Sigma float64 // smoothness in pixels; at least 1 when Alpha is set
}

// Validate reports whether c is a usable configuration: Rotate in [0, 180], Scale in
// [0, 1), Sigma at least 1 pixel when Alpha is set, and Translate, Alpha and Sigma in
// [0, 1000] (far beyond any useful distortion of a digit, and a bound that keeps
// positions in range of the fixed-point arithmetic).
func (c Config) Validate() error {
	for _, f := range []struct {
		name   string
		v, max float64
	}{
		{"translate", c.Translate, 1000},
		{"rotate", c.Rotate, 180},
		{"scale", c.Scale, 1},
		{"elastic alpha", c.Elastic.Alpha, 1000},
		{"elastic sigma", c.Elastic.Sigma, 1000},
		{"stroke", c.Stroke, 1},
		{"blur", c.Blur, 3},
		{"widen", c.Widen, 1},
	} {
		if !(f.v >= 0 && f.v <= f.max) {
			return fmt.Errorf("augment: %s %v, want a value in [0, %v]", f.name, f.v, f.max)
		}
	}
	if c.Scale == 1 {
		return fmt.Errorf("augment: scale 1, want below 1 (a factor in 1±scale)")
	}
	if c.Elastic.Alpha > 0 && c.Elastic.Sigma < 1 {
		return fmt.Errorf("augment: elastic sigma %v with alpha %v, want sigma at least 1 pixel", c.Elastic.Sigma, c.Elastic.Alpha)
	}
	return nil
}

// Data is a train.Bytes whose images are randomly distorted each time they are read.
// It implements train.Data. It is not safe for concurrent use: call its methods from
// one goroutine (Batch and Prefetch use goroutines of their own inside).
type Data struct {
	src     *train.Bytes
	cfg     Config
	seed    uint64
	w, h    int
	calls   uint64
	el      *elastic // nil when the elastic distortion is off
	step    int      // node spacing of the displacement grid
	workers []*worker
	ahead   ahead
}

// maxBatch bounds the images of one Batch call: positions take the low 20 bits of the
// random stream's second seed word.
const maxBatch = 1 << 20

// minPerWorker is the fewest images worth a goroutine of their own (about 50 µs), and
// chunk the images a goroutine takes at a time.
const minPerWorker, chunk = 16, 4

// affineStep is the node spacing when there is no elastic field: the affine map is
// exact under bilinear interpolation, so a coarse grid will do.
const affineStep = 8

// New returns src with its images distorted as cfg says, the randomness drawn from
// seed (see the package documentation). The example shape must be one square image
// ([H·H]), [H W] or [1 H W]; Shape is src's. New panics if cfg.Validate fails: check
// user input with Validate first.
func New(src *train.Bytes, cfg Config, seed uint64) *Data {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	h, w := imageSize(src.ExampleShape)
	if len(src.Pixels) != src.Len()*w*h {
		panic(fmt.Sprintf("augment: New: %d pixels for %d examples of shape %v", len(src.Pixels), src.Len(), src.ExampleShape))
	}
	d := &Data{src: src, cfg: cfg, seed: seed, w: w, h: h, step: affineStep}
	if cfg.Elastic.Alpha > 0 {
		d.step = nodeStep(cfg.Elastic.Sigma)
		d.el = newElastic(w, h, d.step, cfg.Elastic.Alpha, cfg.Elastic.Sigma)
		d.el.fillBank(rand.New(rand.NewPCG(seed, 1<<64-1)))
	}
	return d
}

// imageSize returns the height and width of an example of shape.
func imageSize(shape []int) (h, w int) {
	n := len(shape)
	switch {
	case n == 1:
		side := int(math.Round(math.Sqrt(float64(shape[0]))))
		if side > 0 && side*side == shape[0] {
			return side, side
		}
	case n >= 2 && tensor.Size(shape[:n-2]) == 1 && shape[n-2] > 0 && shape[n-1] > 0:
		return shape[n-2], shape[n-1]
	}
	panic(fmt.Sprintf("augment: New: example shape %v, want one image: [H·H], [H W] or [1 H W]", shape))
}

// Len is the number of examples.
func (d *Data) Len() int { return d.src.Len() }

// Shape is the source's per-example shape.
func (d *Data) Shape() []int { return d.src.Shape() }

// State is the number of Batch calls so far, all that a checkpoint needs to resume the
// sequence of distortions.
func (d *Data) State() uint64 { return d.calls }

// SetState sets the number of Batch calls, as State returned it. It drops the work of
// a Prefetch.
func (d *Data) SetState(calls uint64) {
	d.drop()
	d.calls = calls
}

// zeroIdx selects the one image of a buffer for kernels.GatherBytes.
var zeroIdx = []int{0}

// Batch implements train.Data: it writes the examples idx, distorted, into x and their
// labels into labels, and counts one call.
func (d *Data) Batch(idx []int, x []float32, labels []int) {
	n, size := len(idx), d.w*d.h
	if len(x) != n*size || len(labels) != n {
		panic(fmt.Sprintf("augment: Batch: %d indices into %d values and %d labels, want %d and %d", n, len(x), len(labels), n*size, n))
	}
	d.check("Batch", idx)
	call := d.calls
	d.calls++
	for j, i := range idx {
		labels[j] = d.src.Label(i)
	}

	if a := &d.ahead; a.running {
		a.wg.Wait()
		a.running = false
		if a.call == call && slices.Equal(a.idx, idx) {
			for j := range n {
				kernels.GatherBytes(x[j*size:(j+1)*size], a.img[j*size:(j+1)*size], size, zeroIdx, d.src.Scale, d.src.Offset)
			}
			return
		}
	}

	// The goroutines take chunks of images in turn until none are left, so that one
	// slow to start does not hold the batch up; which goroutine distorts an image does
	// not change it.
	nw := max(1, min(runtime.GOMAXPROCS(0), n/minPerWorker))
	for len(d.workers) < nw {
		d.workers = append(d.workers, newWorker(d.w, d.h, d.step))
	}
	var next atomic.Int64
	run := func(s *worker) {
		for {
			lo := int(next.Add(chunk)) - chunk
			if lo >= n {
				return
			}
			for j := lo; j < min(lo+chunk, n); j++ {
				d.image(s, call, j, idx[j], s.img)
				kernels.GatherBytes(x[j*size:(j+1)*size], s.img, size, zeroIdx, d.src.Scale, d.src.Offset)
			}
		}
	}
	var wg sync.WaitGroup
	for k := 1; k < nw; k++ {
		wg.Go(func() { run(d.workers[k]) })
	}
	run(d.workers[0])
	wg.Wait()
}

// Prefetch starts distorting the examples next on a goroutine of its own, for the next
// Batch call: a training loop that knows its next indices calls it right after Batch,
// so that the work overlaps the training step (see Cost in the package documentation).
// If the next Batch call asks for exactly next, it waits for that work and uses it;
// otherwise, or after SetState, the work is dropped. Batches are the same with or
// without Prefetch.
func (d *Data) Prefetch(next []int) {
	d.check("Prefetch", next)
	d.drop()
	a := &d.ahead
	if a.worker == nil {
		a.worker = newWorker(d.w, d.h, d.step)
	}
	size := d.w * d.h
	a.call = d.calls
	a.idx = append(a.idx[:0], next...)
	if cap(a.img) < len(next)*size {
		a.img = make([]uint8, len(next)*size)
	}
	a.img = a.img[:len(next)*size]
	a.running = true
	a.wg.Go(func() {
		for j, i := range a.idx {
			d.image(a.worker, a.call, j, i, a.img[j*size:(j+1)*size])
		}
	})
}

// ahead is the work of a Prefetch.
type ahead struct {
	running bool // a Prefetch's work has not been used or dropped
	wg      sync.WaitGroup
	call    uint64
	idx     []int
	img     []uint8
	worker  *worker
}

// drop waits for the work of a Prefetch and forgets it.
func (d *Data) drop() {
	if d.ahead.running {
		d.ahead.wg.Wait()
		d.ahead.running = false
	}
}

// check panics unless idx are examples of a batch.
func (d *Data) check(method string, idx []int) {
	if len(idx) > maxBatch {
		panic(fmt.Sprintf("augment: %s: %d indices, want at most %d", method, len(idx), maxBatch))
	}
	for _, i := range idx {
		if i < 0 || i >= d.src.Len() {
			panic(fmt.Sprintf("augment: %s: index %d outside %d examples", method, i, d.src.Len()))
		}
	}
}

// image writes example i, distorted as image j of call number call, into dst.
func (d *Data) image(s *worker, call uint64, j, i int, dst []uint8) {
	s.pcg.Seed(d.seed, call<<20|uint64(j))
	r := s.rng
	deg := d.cfg.Rotate * (2*r.Float64() - 1)
	scale := 1 + d.cfg.Scale*(2*r.Float64()-1)
	tx := d.cfg.Translate * (2*r.Float64() - 1)
	ty := d.cfg.Translate * (2*r.Float64() - 1)
	if d.el != nil {
		d.el.pick(&s.f, r)
	}
	size := d.w * d.h
	src := d.src.Pixels[i*size : (i+1)*size]
	t := transform(d.w, d.h, deg, scale, tx, ty)
	if d.cfg.Widen > 0 && r.Float64() < d.cfg.Widen {
		t = widen(t, src, d.w, d.h, r.Float64())
	}
	s.warp(dst, src, t, &s.f)
	if d.cfg.FlipX && r.Uint64()&1 == 1 {
		for y := 0; y < d.h; y++ {
			slices.Reverse(dst[y*d.w : (y+1)*d.w])
		}
	}
	if d.cfg.Stroke > 0 {
		stroke(dst, d.w, d.h, d.cfg.Stroke*(2*r.Float64()-1), s.pen)
	}
	if d.cfg.Blur > 0 {
		blur(dst, d.w, d.h, d.cfg.Blur*r.Float64(), s.row, s.col)
	}
}

// worker holds one goroutine's random source and buffers.
type worker struct {
	pcg *rand.PCG
	rng *rand.Rand
	img []uint8 // the distorted image

	w, h int
	pad  []uint8 // the source with a border of one background pixel: (w+2)×(h+2)
	pen  []uint8 // stroke's copy of the image
	row  []float32
	col  []float32 // blur's passes
	u, v []int     // the source position of each node of f, in fixed point (see fix)
	f    field     // the elastic displacements (zero when off)
}

func newWorker(w, h, step int) *worker {
	pcg := rand.NewPCG(0, 0)
	nx, ny := (w-1)/step+2, (h-1)/step+2
	s := &worker{
		pcg: pcg, rng: rand.New(pcg), img: make([]uint8, w*h),
		w: w, h: h, pad: make([]uint8, (w+2)*(h+2)),
		pen: make([]uint8, w*h), row: make([]float32, w*h), col: make([]float32, w*h),
		u: make([]int, nx*ny), v: make([]int, nx*ny),
		f: newField(w, h, step),
	}
	return s
}

// nodeStep is the spacing of the elastic field's nodes for σ: the largest power of two
// at most 3σ/4. The field interpolated between nodes 3σ/4 apart is 6.5 % r.m.s. off
// the exact one, σ/2 apart 2.9 % (see TestElasticNodes).
func nodeStep(sigma float64) int { return 1 << (bits.Len(uint(max(1, 0.75*sigma))) - 1) }

// Presets names the augmentations Preset makes, as `digitnet train --augment` takes them.
var Presets = []string{"none", "affine", "elastic", "flip", "shift-flip", "affine-flip", "pen", "pen-elastic", "affine-widen"}

// Preset is a named augmentation:
//
//	none         no distortion
//	affine       shift ±2 px, rotate ±10°, scale ±10 %
//	elastic      affine plus Simard's elastic distortion (α 34, σ 4)
//	flip         mirror half the images (clothes, not digits)
//	shift-flip   shift ±2 px and flip
//	affine-flip  affine and flip
//	pen          affine, strokes thickened or thinned (±0.7 of a pixel), blur up to σ 1
//	pen-elastic  pen and the elastic distortion: for how different people write
//	affine-widen affine, a third of the digits widened towards a square (Widen): for
//	             scanned sets that stretched digits to fill their box
func Preset(name string) (Config, error) {
	switch name {
	case "none":
		return Config{}, nil
	case "affine":
		return Config{Translate: 2, Rotate: 10, Scale: 0.1}, nil
	case "elastic":
		return Config{Translate: 2, Rotate: 10, Scale: 0.1, Elastic: ElasticConfig{Alpha: 34, Sigma: 4}}, nil
	case "flip":
		return Config{FlipX: true}, nil
	case "shift-flip":
		return Config{Translate: 2, FlipX: true}, nil
	case "affine-flip":
		return Config{Translate: 2, Rotate: 10, Scale: 0.1, FlipX: true}, nil
	case "pen":
		return Config{Translate: 2, Rotate: 10, Scale: 0.1, Stroke: 0.7, Blur: 1}, nil
	case "pen-elastic":
		return Config{Translate: 2, Rotate: 10, Scale: 0.1, Elastic: ElasticConfig{Alpha: 34, Sigma: 4}, Stroke: 0.7, Blur: 1}, nil
	case "affine-widen":
		return Config{Translate: 2, Rotate: 10, Scale: 0.1, Widen: 1.0 / 3}, nil
	}
	return Config{}, fmt.Errorf("augment: unknown augmentation %q, want one of %s", name, strings.Join(Presets, ", "))
}
