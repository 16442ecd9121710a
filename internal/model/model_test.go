package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

func testModel(t testing.TB) *Model {
	t.Helper()
	arch := nn.MLP{Sizes: []int{784, 30, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Spec()
	net, err := arch.Build(rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return &Model{Arch: arch, Net: net, Input: Input{Scale: 1.0 / 255}, Dataset: "mnist",
		Classes:  []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Training: Summary{Preset: "default", Epochs: 4, Seed: 1, TestAccuracy: 0.98, Date: "2026-11-27T12:00:00Z"}}
}

func saved(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, testModel(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := testModel(t)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dataset != "mnist" || got.Input != m.Input || got.Training != m.Training || len(got.Classes) != 10 || got.Arch.HiddenActivation() != "relu" {
		t.Errorf("metadata after round trip: %+v", got)
	}
	x := tensor.New(3, 784)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	want := m.Net.Predict(x).Clone()
	have := got.Net.Predict(x)
	for i := range want.Data {
		if want.Data[i] != have.Data[i] {
			t.Fatalf("prediction %d: saved model %g, loaded %g", i, want.Data[i], have.Data[i])
		}
	}
}

// TestPyTorchLayout: weights are stored [out in] like nn.Linear, readable by any
// safetensors reader.
func TestPyTorchLayout(t *testing.T) {
	m := testModel(t)
	b := saved(t)
	st, err := safetensors.Deserialize(b)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := st.Tensor("dense0.weight")
	if !ok || v.DType() != safetensors.F32 || len(v.Shape()) != 2 || v.Shape()[0] != 30 || v.Shape()[1] != 784 {
		t.Fatalf("dense0.weight: %v %v %v; want F32 [30 784]", ok, v.DType(), v.Shape())
	}
	d := m.Net.Layers[0].(*nn.Dense)
	// element [o=2, i=5] of the file is W[i=5, o=2] in memory
	got := binary.LittleEndian.Uint32(v.Data()[4*(2*784+5):])
	if want := d.W.Value.Data[5*30+2]; got != mathBits(want) {
		t.Errorf("file [2,5] = %#x, want W[5,2] = %#x", got, mathBits(want))
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	good := saved(t)
	n := binary.LittleEndian.Uint64(good)
	flip := func(off int) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0x40
		return b
	}
	foreign := func() []byte {
		v, _ := safetensors.NewTensorView(safetensors.F32, []uint64{2}, make([]byte, 8))
		b, _ := safetensors.Serialize(map[string]safetensors.TensorView{"w": v}, nil)
		return b
	}
	editMeta := func(old, new string) []byte {
		// Same-length edits keep the header length and offsets valid.
		if len(old) != len(new) {
			t.Fatalf("edit %q -> %q changes the length", old, new)
		}
		return bytes.Replace(bytes.Clone(good), []byte(old), []byte(new), 1)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "safetensors container"},
		{"truncated header", good[:20], "safetensors container"},
		{"truncated tensors", good[:len(good)-100], "safetensors container"},
		{"huge header length", append(binary.LittleEndian.AppendUint64(nil, 1<<62), good[8:]...), "safetensors container"},
		{"not JSON", append(binary.LittleEndian.AppendUint64(nil, 4), []byte("abcd")...), "safetensors container"},
		{"flipped tensor byte", flip(len(good) - 5), "checksum"},
		{"foreign safetensors", foreign(), "without digitnet metadata"},
		{"future version", editMeta(`"digitnet.format":"2"`, `"digitnet.format":"9"`), `format version "9"`},
		{"unknown layer type", editMeta(`\"type\":\"relu\"`, `\"type\":\"gelu\"`), `unknown layer type "gelu"`},
		{"classes for other outputs", editMeta(`\"0\",\"1\",`, `\"01\"     ,`), "9 class names for 10 outputs"},
		// An architecture whose weights the file cannot hold is refused before it is
		// built (a tiny file asking for billions of weights ran the process out of memory).
		{"weights beyond the file", editMeta(`\"out\":30}`, `\"out\":99}`), "weights need more than"},
	}
	_ = n
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Load = %v; want ErrFormat naming the file and %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", c.name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Save(path, testModel(t)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory has %d entries after Save, want 1 (no temp files)", len(entries))
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir", "m"), testModel(t)); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

func FuzzDecode(f *testing.F) {
	good := saved(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), '{', '}'))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Anything accepted saves and loads back to the same predictions.
		path := filepath.Join(t.TempDir(), "m")
		if err := Save(path, m); err != nil {
			t.Fatalf("Save of a decoded model: %v", err)
		}
		m2, err := Load(path)
		if err != nil {
			t.Fatalf("Load after Save: %v", err)
		}
		x := tensor.New(append([]int{1}, m.Arch.Input...)...)
		p1, p2 := m.Net.Predict(x).Clone(), m2.Net.Predict(x)
		for i := range p1.Data {
			if p1.Data[i] != p2.Data[i] && !(p1.Data[i] != p1.Data[i]) {
				t.Fatalf("prediction %d differs after re-save: %g vs %g", i, p1.Data[i], p2.Data[i])
			}
		}
	})
}

func mathBits(f float32) uint32 { return math.Float32bits(f) }

func TestCheckpointRoundTrip(t *testing.T) {
	m := testModel(t)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	bufs := map[string][]float32{"m/dense0.bias": make([]float32, 30), "v/dense0.bias": {1, 2, 3}}
	bufs["m/dense0.bias"][7] = 0.5
	if err := SaveCheckpoint(path, &Checkpoint{Model: m, Buffers: bufs, State: []byte(`{"epoch":3}`)}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.State) != `{"epoch":3}` || len(c.Buffers) != 2 || c.Buffers["m/dense0.bias"][7] != 0.5 || len(c.Buffers["v/dense0.bias"]) != 3 {
		t.Errorf("checkpoint round trip: state %s buffers %v", c.State, c.Buffers)
	}
	// A checkpoint serves as a model file (eval, predict), not the other way round.
	if got, err := Load(path); err != nil || got.Arch.Layers[0].Out != 30 {
		t.Errorf("Load(checkpoint) = %v", err)
	}
	mpath := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(mpath, m); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(mpath); err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Errorf("LoadCheckpoint(model) = %v, want not a checkpoint", err)
	}
}

func TestReplicaSharesWeights(t *testing.T) {
	m := testModel(t)
	r, err := m.Replica()
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 784)
	x.Data[100], x.Data[900] = 0.5, 1
	a, b := m.Net.Predict(x).Clone(), r.Predict(x)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("replica output %d = %g, model %g", i, b.Data[i], a.Data[i])
		}
	}
	m.Net.Params()[0].Value.Data[0] += 1 // a change to the model shows in the replica
	if r.Params()[0].Value.Data[0] != m.Net.Params()[0].Value.Data[0] {
		t.Error("replica does not share the model's weights")
	}
}

// TestCNNRoundTrip: a convolutional network with batch norm saves and loads with its
// running statistics, in PyTorch's layouts.
func TestCNNRoundTrip(t *testing.T) {
	spec := nn.Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal, Layers: []nn.LayerSpec{
		{Type: "conv2d", Out: 4, Kernel: 5}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dropout", P: 0.5}, {Type: "dense", Out: 10}}}
	net, err := spec.Build(rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32(i%17) / 17
	}
	net.Forward(x, true) // moves the running statistics off their initial values
	m := &Model{Arch: spec, Net: net, Input: Input{Scale: 1.0 / 255}, Dataset: "mnist", Classes: testModel(t).Classes}
	path := filepath.Join(t.TempDir(), "cnn.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := net.Predict(x).Clone()
	have := got.Net.Predict(x)
	for i := range want.Data {
		if want.Data[i] != have.Data[i] {
			t.Fatalf("prediction %d: saved %g, loaded %g", i, want.Data[i], have.Data[i])
		}
	}
	b, _ := os.ReadFile(path)
	st, _ := safetensors.Deserialize(b)
	for name, shape := range map[string]string{"conv0.weight": "[4 1 5 5]", "bn0.running_var": "[4]", "dense0.weight": "[10 576]"} {
		v, ok := st.Tensor(name)
		if !ok || fmt.Sprint(v.Shape()) != shape {
			t.Errorf("%s: present %v shape %v, want %s", name, ok, v.Shape(), shape)
		}
	}
}

func TestEnsembleAveragesMembers(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	var nets []*nn.Network
	for i := range 3 {
		m := testModel(t)
		net, _ := m.Arch.Build(rand.New(rand.NewPCG(uint64(i), 9)))
		m.Net = net
		nets = append(nets, net)
		p := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", i))
		if err := Save(p, m); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	e, err := LoadEnsemble(paths)
	if err != nil {
		t.Fatal(err)
	}
	pixels := make([]uint8, 2*784)
	for i := range pixels {
		pixels[i] = uint8(i * 7)
	}
	got := e.Predict(pixels, 2)
	x := tensor.New(2, 784)
	for i, v := range pixels {
		x.Data[i] = float32(v) / 255
	}
	for j := range got.Data {
		var want float64
		for _, n := range nets {
			want += float64(n.Predict(x).Data[j]) / 3
		}
		if !(math.Abs(float64(got.Data[j])-want) <= 1e-6) { // NaN fails too
			t.Fatalf("ensemble probability %d = %g, mean of members %g", j, got.Data[j], want)
		}
	}
	acc, _, conf := e.Evaluate(pixels, []uint8{3, 4})
	if len(conf) != 10 || acc < 0 || acc > 1 {
		t.Errorf("Evaluate: accuracy %g, confusion %d rows", acc, len(conf))
	}
	// Weighed 1, 0, 3 (as shares: also 1e-50, 0, 3e-50 and 1e300, 0, 3e300): (1·p0 +
	// 3·p2) / 4, in Predict and in a replica.
	shares := []float64{0.25, 0, 0.75}
	for _, w := range [][]float64{{1, 0, 3}, {1e-50, 0, 3e-50}, {1e300, 0, 3e300}} {
		if err := e.SetWeights(w); err != nil {
			t.Fatal(err)
		}
		r, err := e.Replica()
		if err != nil {
			t.Fatal(err)
		}
		for _, ens := range []*Ensemble{e, r} {
			got := ens.Predict(pixels, 2)
			for j := range got.Data {
				var want float64
				for k, n := range nets {
					want += shares[k] * float64(n.Predict(x).Data[j])
				}
				if !(math.Abs(float64(got.Data[j])-want) <= 1e-6) { // NaN fails too
					t.Fatalf("weighed %v: probability %d = %g, want %g", w, j, got.Data[j], want)
				}
			}
		}
	}
	for _, bad := range [][]float64{{1, 1}, {1, -1, 1}, {0, 0, 0}, {1, math.NaN(), 1}, {1, math.Inf(1), 1}, {1e308, 1e308, 1e308}} {
		if err := e.SetWeights(bad); err == nil {
			t.Errorf("weights %v accepted", bad)
		}
	}
	other := testModel(t)
	other.Classes = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	p := filepath.Join(dir, "other.safetensors")
	_ = Save(p, other)
	if _, err := LoadEnsemble([]string{paths[0], p}); err == nil || !strings.Contains(err.Error(), "has classes") {
		t.Errorf("ensemble of models with different classes: %v", err)
	}
}

// TestReplicaSharesBatchNormStatistics: a replica of a model with batch norm predicts
// exactly like the model (it needs the running statistics, not only the parameters).
func TestReplicaSharesBatchNormStatistics(t *testing.T) {
	spec := nn.Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal, Layers: []nn.LayerSpec{
		{Type: "conv2d", Out: 3, Kernel: 5}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "flatten"}, {Type: "dense", Out: 10}}}
	net, err := spec.Build(rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32(i%13) / 13
	}
	for range 5 {
		net.Forward(x, true) // moves the running statistics
	}
	m := &Model{Arch: spec, Net: net, Input: Input{Scale: 1.0 / 255}, Classes: testModel(t).Classes}
	r, err := m.Replica()
	if err != nil {
		t.Fatal(err)
	}
	want, got := net.Predict(x).Clone(), r.Predict(x)
	for i := range want.Data {
		if want.Data[i] != got.Data[i] {
			t.Fatalf("replica output %d = %g, model %g", i, got.Data[i], want.Data[i])
		}
	}
}

func TestWindowIsARange(t *testing.T) {
	d := &train.Bytes{Pixels: []uint8{0, 1, 2, 3, 4}, Labels: []uint8{0, 1, 2, 3, 4}, ExampleShape: []int{1}, Scale: 1}
	w := train.Window(d, 3, 5)
	x, l := make([]float32, 2), make([]int, 2)
	w.Batch([]int{1, 0}, x, l)
	if w.Len() != 2 || l[0] != 4 || l[1] != 3 || x[0] != 4 {
		t.Errorf("Window(d, 3, 5): len %d, batch [1 0] gave labels %v x %v; want 2, [4 3], [4 3]", w.Len(), l, x)
	}
}
