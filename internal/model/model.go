// Package model stores trained networks as files.
//
// A model file is a safetensors container (the ecosystem's weight format, readable by
// PyTorch's and numpy's safetensors loaders):
//
//	bytes 0-7   little-endian uint64 N, the length of the JSON header
//	bytes 8-N+7 JSON header: every tensor's dtype, shape and byte range, plus
//	            "__metadata__", a string-to-string map (below)
//	rest        the tensors' bytes, little-endian float32, back to back
//
// Tensors follow PyTorch's layouts, so a state dict loads directly: "dense<i>.weight"
// is F32 [out in] (nn.Linear; digitnet keeps [in out] in memory and transposes on the way
// in and out) and "dense<i>.bias" [out]; "conv<i>.weight" [out in k k], "conv<i>.bias";
// "bn<i>.weight", "bn<i>.bias", "bn<i>.running_mean", "bn<i>.running_var". i counts
// layers of that kind from the input.
//
// Metadata keys, each value a string (JSON where structured):
//
//	digitnet.format    format version, "2" ("1": arch was an nn.MLP; still read)
//	digitnet.arch      the architecture, nn.Spec as JSON
//	digitnet.input     input normalization {"scale":s,"offset":o}: x = s·byte + o
//	digitnet.dataset   the data set trained on, e.g. "mnist"
//	digitnet.classes   class names, a JSON array
//	digitnet.training  training summary (Summary as JSON)
//	digitnet.recipe    optional: the training recipe (recipe.Recipe as JSON)
//	digitnet.calibration  optional: temperature and minimum confidence (Calibration as JSON)
//	digitnet.sha256    hex SHA-256 of the tensor bytes in file order
package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/nlpodyssey/safetensors"

	"github.com/digitnet/digitnet/internal/fsutil"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// FormatVersion is the version this package writes; it also reads version 1.
const FormatVersion = 2

// MaxFileSize bounds what Load reads: a model larger than this is not one of ours.
const MaxFileSize = 1 << 30

// ErrFormat is wrapped by every error about a file's contents.
var ErrFormat = errors.New("not a valid digitnet model")

// Input is the affine map from a pixel byte to a network input.
type Input struct {
	Scale  float32 `json:"scale"`
	Offset float32 `json:"offset"`
}

// Summary records how a model was trained.
type Summary struct {
	Preset        string  `json:"preset,omitempty"`
	Epochs        int     `json:"epochs"`
	Seed          uint64  `json:"seed"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestAccuracy  float64 `json:"test_accuracy"`
	Date          string  `json:"date"` // RFC 3339
	Optimizer     string  `json:"optimizer,omitempty"`
}

// Model is a trained network with what is needed to use it.
type Model struct {
	Arch     nn.Spec
	Net      *nn.Network
	Input    Input
	Dataset  string
	Classes  []string
	Training Summary
	// Calibration, when set, tempers the network's probabilities and says when an
	// answer is too unsure to give.
	Calibration *Calibration
	// Recipe is the settings it was trained with (recipe.Recipe as JSON), if known.
	Recipe json.RawMessage
}

// layerTensor is one tensor of the file and where it lives in the network.
type layerTensor struct {
	name  string
	param *nn.Param
	dense *nn.Dense // transposed [in out] ↔ [out in] when this is a Dense weight
}

// buffered is a layer with state saved beside its parameters (BatchNorm's statistics).
type buffered interface{ Buffers() []*nn.Param }

func tensorsOf(net *nn.Network) []layerTensor {
	var out []layerTensor
	for _, l := range net.Layers {
		d, _ := l.(*nn.Dense)
		for _, p := range l.Params() {
			t := layerTensor{name: p.Name, param: p}
			if d != nil && p == d.W {
				t.dense = d
			}
			out = append(out, t)
		}
		if b, ok := l.(buffered); ok {
			for _, p := range b.Buffers() {
				out = append(out, layerTensor{name: p.Name, param: p})
			}
		}
	}
	return out
}

// fileShape is a tensor's shape in the file.
func (t layerTensor) fileShape() []uint64 {
	if t.dense != nil {
		return []uint64{uint64(t.dense.Out), uint64(t.dense.In)}
	}
	shape := make([]uint64, len(t.param.Value.Shape))
	for i, d := range t.param.Value.Shape {
		shape[i] = uint64(d)
	}
	return shape
}

// bytes encodes the tensor in file layout.
func (t layerTensor) bytes() []byte {
	v := t.param.Value.Data
	b := make([]byte, 4*len(v))
	if t.dense == nil {
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	I, O := t.dense.In, t.dense.Out
	for o := 0; o < O; o++ {
		for i := 0; i < I; i++ {
			binary.LittleEndian.PutUint32(b[4*(o*I+i):], math.Float32bits(v[i*O+o]))
		}
	}
	return b
}

// set decodes file-layout bytes into the tensor.
func (t layerTensor) set(b []byte) {
	v := t.param.Value.Data
	if t.dense == nil {
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return
	}
	I, O := t.dense.In, t.dense.Out
	for o := 0; o < O; o++ {
		for i := 0; i < I; i++ {
			v[i*O+o] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*(o*I+i):]))
		}
	}
}

// Save writes m to path atomically: a crash mid-save leaves the old file or none.
func Save(path string, m *Model) error { return save(path, m, nil, nil) }

// Checkpoint is a model in the middle of training: the model file's contents plus the
// optimizer's buffers (F32 tensors named "optim/<buffer>"), the weights of the best
// epoch so far when a run keeps them ("best/<tensor>"), and the loop's state as JSON
// under the metadata key "digitnet.checkpoint".
type Checkpoint struct {
	Model   *Model
	Buffers map[string][]float32
	Best    map[string][]float32 // by the name of the model's tensor
	State   json.RawMessage
}

// SaveCheckpoint writes c to path atomically.
func SaveCheckpoint(path string, c *Checkpoint) error {
	extra := map[string][]float32{}
	for name, b := range c.Buffers {
		extra["optim/"+name] = b
	}
	for name, b := range c.Best {
		extra["best/"+name] = b
	}
	return save(path, c.Model, extra, map[string]string{"digitnet.checkpoint": string(c.State)})
}

// LoadCheckpoint reads and validates a checkpoint written by SaveCheckpoint.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	c, err := load(path, true)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func save(path string, m *Model, buffers map[string][]float32, extraMeta map[string]string) error {
	err := fsutil.WriteFrom(path, 0o644, func(w io.Writer) error {
		return write(w, m, buffers, extraMeta)
	})
	if err != nil {
		return fmt.Errorf("model: saving %s: %w", path, err)
	}
	return nil
}

// Write writes m to w as Save writes it to a file.
func Write(w io.Writer, m *Model) error {
	if err := write(w, m, nil, nil); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}

func write(w io.Writer, m *Model, buffers map[string][]float32, extraMeta map[string]string) error {
	views := map[string]safetensors.TensorView{}
	for name, b := range buffers {
		raw := make([]byte, 4*len(b))
		for i, x := range b {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		v, err := safetensors.NewTensorView(safetensors.F32, []uint64{uint64(len(b))}, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		views[name] = v
	}
	ts := tensorsOf(m.Net)
	for _, t := range ts {
		v, err := safetensors.NewTensorView(safetensors.F32, t.fileShape(), t.bytes())
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		views[t.name] = v
	}
	arch, _ := json.Marshal(m.Arch)
	input, _ := json.Marshal(m.Input)
	classes, _ := json.Marshal(m.Classes)
	training, _ := json.Marshal(m.Training)
	meta := map[string]string{
		"digitnet.format":   strconv.Itoa(FormatVersion),
		"digitnet.arch":     string(arch),
		"digitnet.input":    string(input),
		"digitnet.dataset":  m.Dataset,
		"digitnet.classes":  string(classes),
		"digitnet.training": string(training),
	}
	if len(m.Recipe) > 0 {
		meta["digitnet.recipe"] = string(m.Recipe)
	}
	if m.Calibration != nil {
		c, _ := json.Marshal(m.Calibration)
		meta["digitnet.calibration"] = string(c)
	}
	for k, v := range extraMeta {
		meta[k] = v
	}
	// The checksum covers the tensor bytes in file order, which Serialize fixes (all
	// F32, then by name); computed on a first serialization and stored in the second.
	first, err := safetensors.Serialize(views, meta)
	if err != nil {
		return err
	}
	sum, err := tensorChecksum(first)
	if err != nil {
		return err
	}
	meta["digitnet.sha256"] = sum
	return safetensors.SerializeToWriter(views, meta, w)
}

// tensorChecksum hashes the data section of a serialized file.
func tensorChecksum(file []byte) (string, error) {
	n, _, err := safetensors.ReadMetadata(file)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(file[8+n:])
	return hex.EncodeToString(h[:]), nil
}

// Load reads and validates a model file: size, header, format version, architecture,
// every tensor's dtype and shape against the architecture, and the checksum. Every
// problem is one error naming the file; a bad file never panics.
func Load(path string) (*Model, error) {
	c, err := load(path, false)
	if err != nil {
		return nil, err
	}
	return c.Model, nil
}

func load(path string, checkpoint bool) (*Checkpoint, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("model: %s: %w: %s", path, ErrFormat, fmt.Sprintf(format, a...))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if fi.Size() > MaxFileSize {
		return nil, fail("%d bytes, larger than any digitnet model (%d)", fi.Size(), MaxFileSize)
	}
	buf, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("model: reading %s: %w", path, err)
	}
	c, err := decode(buf, checkpoint)
	if err != nil {
		return nil, fail("%v", err)
	}
	return c, nil
}

// Decode parses a whole model file held in memory; errors do not name a file.
func Decode(buf []byte) (*Model, error) {
	c, err := decode(buf, false)
	if err != nil {
		return nil, err
	}
	return c.Model, nil
}

func decode(buf []byte, checkpoint bool) (*Checkpoint, error) {
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		return nil, fmt.Errorf("safetensors container: %v", err)
	}
	n, meta, _ := safetensors.ReadMetadata(buf)
	md := meta.Metadata()
	m := &Model{Dataset: md["digitnet.dataset"]}
	switch md["digitnet.format"] {
	case strconv.Itoa(FormatVersion):
		if err := unmarshalKey(md, "digitnet.arch", &m.Arch); err != nil {
			return nil, err
		}
	case "1": // the architecture was an MLP
		var mlp nn.MLP
		if err := unmarshalKey(md, "digitnet.arch", &mlp); err != nil {
			return nil, err
		}
		if err := mlp.Validate(); err != nil {
			return nil, fmt.Errorf("digitnet.arch: %v", err)
		}
		m.Arch = mlp.Spec()
	case "":
		return nil, errors.New("a safetensors file without digitnet metadata")
	default:
		return nil, fmt.Errorf("format version %q, this digitnet reads 1 and %d", md["digitnet.format"], FormatVersion)
	}
	if err := unmarshalKey(md, "digitnet.input", &m.Input); err != nil {
		return nil, err
	}
	if err := unmarshalKey(md, "digitnet.classes", &m.Classes); err != nil {
		return nil, err
	}
	if err := unmarshalKey(md, "digitnet.training", &m.Training); err != nil {
		return nil, err
	}
	if r, ok := md["digitnet.recipe"]; ok && json.Valid([]byte(r)) {
		m.Recipe = json.RawMessage(r)
	}
	if _, ok := md["digitnet.calibration"]; ok {
		m.Calibration = new(Calibration)
		if err := unmarshalKey(md, "digitnet.calibration", m.Calibration); err != nil {
			return nil, err
		}
		if c := m.Calibration; !(c.Temperature > 0 && c.Temperature < 1e3 && c.MinConfidence >= 0 && c.MinConfidence <= 1) {
			return nil, fmt.Errorf("digitnet.calibration: temperature %g, min confidence %g: want a temperature > 0 and a confidence in [0, 1]", c.Temperature, c.MinConfidence)
		}
	}
	if err := checkSizes(m.Arch, int64(len(buf))-8-int64(n)); err != nil {
		return nil, err
	}
	if err := m.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("digitnet.arch: %v", err)
	}
	if out := m.Arch.Outputs(); len(m.Classes) != max(out, 2) {
		return nil, fmt.Errorf("%d class names for %d outputs", len(m.Classes), out)
	}
	sum := sha256.Sum256(buf[8+n:])
	if got := hex.EncodeToString(sum[:]); got != md["digitnet.sha256"] {
		return nil, fmt.Errorf("tensor checksum %s, header says %q: the file is corrupt", got, md["digitnet.sha256"])
	}
	net, err := m.Arch.Build(rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	ts := tensorsOf(net)
	c := &Checkpoint{Model: m, Buffers: map[string][]float32{}, Best: map[string][]float32{}}
	if state, ok := md["digitnet.checkpoint"]; ok && json.Valid([]byte(state)) {
		c.State = json.RawMessage(state)
	} else if checkpoint {
		return nil, errors.New("not a checkpoint: metadata digitnet.checkpoint missing or not JSON")
	}
	// Optimizer buffers and best weights (checkpoints only): a model reader may ignore
	// them, so that eval and predict take a checkpoint too.
	for _, nv := range st.Tensors() {
		into := c.Buffers
		name, ok := strings.CutPrefix(nv.Name, "optim/")
		if !ok {
			into = c.Best
			if name, ok = strings.CutPrefix(nv.Name, "best/"); !ok {
				continue
			}
		}
		v := nv.TensorView
		if v.DType() != safetensors.F32 || len(v.Shape()) != 1 {
			return nil, fmt.Errorf("tensor %s is %s %v, want F32 [n]", nv.Name, v.DType(), v.Shape())
		}
		b := make([]float32, v.Shape()[0])
		for i := range b {
			b[i] = math.Float32frombits(binary.LittleEndian.Uint32(v.Data()[4*i:]))
		}
		into[name] = b
	}
	if st.Len() != len(ts)+len(c.Buffers)+len(c.Best) {
		return nil, fmt.Errorf("%d tensors, the architecture has %d", st.Len(), len(ts)+len(c.Buffers)+len(c.Best))
	}
	for _, t := range ts {
		v, ok := st.Tensor(t.name)
		if !ok {
			return nil, fmt.Errorf("tensor %s missing", t.name)
		}
		if v.DType() != safetensors.F32 {
			return nil, fmt.Errorf("tensor %s is %s, want F32", t.name, v.DType())
		}
		if want := t.fileShape(); fmt.Sprint(v.Shape()) != fmt.Sprint(want) {
			return nil, fmt.Errorf("tensor %s has shape %v, the architecture needs %v", t.name, v.Shape(), want)
		}
		t.set(v.Data())
	}
	m.Net = net
	return c, nil
}

// checkSizes bounds an architecture read from a file before anything is built from it:
// each size, and its weights against the tensor bytes the file holds (data), since
// building it allocates them (a 480-byte file asking for a 4096×4096 input and a
// dense layer of 65536 units ran the process out of memory).
func checkSizes(s nn.Spec, data int64) error {
	if err := checkDims(s); err != nil {
		return err
	}
	if w, ok := weightCount(s); !ok || w > data/4 {
		return fmt.Errorf("digitnet.arch: its weights need more than the %d bytes of tensors the file holds", data)
	}
	return nil
}

// weightCount is how many weights the dense layers and convolutions of s hold (biases
// and batch-norm state apart: a lower bound of what a file stores), worked out from
// the shapes alone; false when it overflows or the shapes do not work out (Validate
// then says why).
func weightCount(s nn.Spec) (int64, bool) {
	const limit = int64(1) << 40
	dims := make([]int64, len(s.Input))
	for i, d := range s.Input {
		dims[i] = int64(d)
	}
	size := func() int64 { // -1: a size that does not work out (Validate says why)
		p := int64(1)
		for _, d := range dims {
			if d <= 0 {
				return -1
			}
			if p > limit/d {
				return limit
			}
			p *= d
		}
		return p
	}
	var w int64
	for _, l := range s.Layers {
		switch l.Type {
		case "dense":
			in, out := size(), int64(l.Out)
			if in < 0 {
				return w, true
			}
			if in >= limit || out > limit/max(in, 1) {
				return 0, false
			}
			w += in * out
			dims = []int64{out}
		case "conv2d":
			if len(dims) != 3 || l.Kernel < 1 {
				return w, true
			}
			st := int64(max(l.Stride, 1))
			k, p := int64(l.Kernel), int64(l.Padding)
			w += dims[0] * int64(l.Out) * k * k
			dims = []int64{int64(l.Out), (dims[1]+2*p-k)/st + 1, (dims[2]+2*p-k)/st + 1}
		case "maxpool":
			if len(dims) != 3 || l.Kernel < 1 {
				return w, true
			}
			dims = []int64{dims[0], dims[1] / int64(l.Kernel), dims[2] / int64(l.Kernel)}
		case "flatten":
			dims = []int64{size()}
		}
		if w >= limit {
			return 0, false
		}
	}
	return w, true
}

// checkDims bounds each size of an architecture read from a file.
func checkDims(s nn.Spec) error {
	if len(s.Input) > 4 || len(s.Layers) > 256 {
		return fmt.Errorf("digitnet.arch: %d input dimensions and %d layers is beyond what digitnet builds", len(s.Input), len(s.Layers))
	}
	for _, d := range s.Input {
		if d > 1<<12 {
			return fmt.Errorf("digitnet.arch: input size %d is beyond what digitnet builds", d)
		}
	}
	for _, l := range s.Layers {
		if l.Out > 1<<16 || l.Kernel > 64 || l.Padding > 64 || l.Stride > 64 {
			return fmt.Errorf("digitnet.arch: layer %+v is beyond what digitnet builds", l)
		}
	}
	return nil
}

func unmarshalKey(md map[string]string, key string, v any) error {
	s, ok := md[key]
	if !ok {
		return fmt.Errorf("metadata %s missing", key)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("metadata %s: %v", key, err)
	}
	return nil
}

// Batch converts pixel bytes to the network's input with the model's normalization.
func (m *Model) Batch(dst []float32, pixels []uint8) {
	kernels.BytesToFloat(dst, pixels, m.Input.Scale, m.Input.Offset)
}

// Replica returns a network with the model's architecture whose parameters and layer
// state (batch-norm statistics) share the model's (read-only), with working buffers of
// its own. A Network is not safe for
// concurrent use; concurrent predictions use one replica each.
func (m *Model) Replica() (*nn.Network, error) {
	net, err := m.Arch.Build(rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	src, dst := m.Net.State(), net.State()
	if len(src) != len(dst) {
		return nil, fmt.Errorf("model: replica has %d parameters, the model %d", len(dst), len(src))
	}
	for i, p := range dst {
		p.Value = src[i].Value
	}
	net.ShareQuantization(m.Net)
	return net, nil
}

// Quantized returns the model with its dense layers and convolutions in int8 for
// inference (see nn.Network.Quantize), their input ranges fitted on the n images of
// pixels (some hundreds of training images); m itself is unchanged, and the two share
// the float32 weights.
func (m *Model) Quantized(pixels []uint8, n int) (*Model, error) {
	net, err := m.Replica()
	if err != nil {
		return nil, err
	}
	if len(pixels) < n*m.Arch.InputSize() || n < 1 {
		return nil, fmt.Errorf("model: %d bytes of calibration pixels for %d images of %d", len(pixels), n, m.Arch.InputSize())
	}
	x := tensor.New(append([]int{n}, m.Arch.Input...)...)
	m.Batch(x.Data, pixels[:n*m.Arch.InputSize()])
	// The pixels' whole range, not only the calibration images': [0, 255] as scaled.
	lo, hi := m.Input.Offset, 255*m.Input.Scale+m.Input.Offset
	if err := net.QuantizeInputs(x, min(lo, hi), max(lo, hi)); err != nil {
		return nil, err
	}
	q := *m
	q.Net = net
	return &q, nil
}
