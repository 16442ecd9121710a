package recipe

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/train"
)

// convAlgorithms are the algorithms of a network's convolutions.
func convAlgorithms(net *nn.Network) []nn.ConvAlgorithm {
	var out []nn.ConvAlgorithm
	for _, l := range net.Layers {
		if c, ok := l.(*nn.Conv2D); ok {
			out = append(out, c.Algorithm)
		}
	}
	return out
}

// TestCheckpointKeepsProducts: a run's convolution algorithm and precision are in its
// checkpoint and a resumed run trains with them (FillProducts leaves them); a checkpoint
// written before they were recorded (state version 3, no "conv" key) leaves them to
// FillProducts, as `train --resume` left them to its flags.
func TestCheckpointKeepsProducts(t *testing.T) {
	r := Default()
	r.Model, r.Epochs, r.Conv = "lenet5", 1, "winograd"
	run, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := convAlgorithms(run.Net); len(got) == 0 || got[0] != nn.ConvWinograd {
		t.Fatalf("New: convolutions %v, want winograd", got)
	}
	if p, err := run.Precision(); p != "fp32" || err != nil {
		t.Errorf("Precision() = %q, %v; want fp32", p, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	if _, err := run.Train(context.Background(), blobSet(64, 1), blobSet(32, 2), Options{Checkpoint: path}); err != nil {
		t.Fatal(err)
	}
	// resumeFilled resumes path, fills what it did not record with conv and
	// precision, and checks the run and its network have want and wantPrecision.
	resumeFilled := func(path, conv, precision, want, wantPrecision string) {
		t.Helper()
		back, err := Resume(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := back.FillProducts(conv, precision); err != nil {
			t.Fatal(err)
		}
		p, _ := back.Precision()
		algo, _ := nn.ParseConvAlgorithm(want)
		for _, a := range convAlgorithms(back.Net) {
			if a != algo || back.Recipe.Conv != want || p != wantPrecision {
				t.Errorf("%s filled with %s, %s: convolutions %v, recipe %q, precision %s; want %s, %s", path, conv, precision, convAlgorithms(back.Net), back.Recipe.Conv, p, want, wantPrecision)
				break
			}
		}
	}
	resumeFilled(path, "gemm", "bf16", "winograd", "fp32") // recorded: kept

	// The same checkpoint as an older digitnet wrote it: version 3, no conv or
	// precision key (both are omitted when empty).
	ck, st, err := readCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Version, st.Recipe.Conv, st.Recipe.Precision = 3, "", ""
	if ck.State, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ck.State), `"conv"`) {
		t.Fatalf("the rewritten state still has a conv key: %s", ck.State)
	}
	old := filepath.Join(dir, "old.safetensors")
	if err := model.SaveCheckpoint(old, ck); err != nil {
		t.Fatal(err)
	}
	back, err := Resume(old)
	if err != nil {
		t.Fatal(err)
	}
	if back.Recipe.Conv != "" || back.Recipe.Precision != "" {
		t.Errorf("version-3 checkpoint resumed with conv %q, precision %q; want both unrecorded", back.Recipe.Conv, back.Recipe.Precision)
	}
	resumeFilled(old, "portable", "fp32", "portable", "fp32") // unrecorded: filled
	if err := back.FillProducts("fft", "fp32"); err == nil {
		t.Error("FillProducts took an unknown algorithm")
	}
}

// TestProductsValidated: an unknown algorithm or precision is a FieldError naming its
// key.
func TestProductsValidated(t *testing.T) {
	for _, tc := range []struct{ key, conv, precision string }{{"conv", "fft", ""}, {"precision", "", "int8"}} {
		r := Default()
		r.Conv, r.Precision = tc.conv, tc.precision
		_, err := New(r)
		fe, ok := err.(*FieldError)
		if !ok || fe.Key != tc.key {
			t.Errorf("conv %q, precision %q: %v, want a FieldError for %s", tc.conv, tc.precision, err, tc.key)
		}
	}
}

// TestConvRunResumesBitIdentical: a CNN run stopped after its first epoch and resumed
// ends with the uninterrupted run's weights, bit for bit, with each algorithm the
// checkpoint can hold (auto trains by oneDNN's direct convolution where it runs).
func TestConvRunResumesBitIdentical(t *testing.T) {
	kernels.SetThreads(1)
	kernels.SetWorkers(2) // as train runs CNNs: the batch split over two workers
	defer kernels.SetWorkers(1)
	for _, conv := range []string{"auto", "portable"} {
		r := Default()
		r.Model, r.Epochs, r.Conv, r.Batch = "lenet5", 2, conv, 32
		trainSet, testSet := blobSet(256, 1), blobSet(32, 2)
		whole, err := New(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := whole.Train(context.Background(), trainSet, testSet, Options{}); err != nil {
			t.Fatal(err)
		}
		first, err := New(r)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "ck.safetensors")
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := first.Train(ctx, trainSet, testSet, Options{Checkpoint: path, Saved: func(string, int, *train.Partial) { cancel() }}); err != nil {
			t.Fatal(err)
		}
		cancel()
		back, err := Resume(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(back.History()) != 1 {
			t.Fatalf("%s: the checkpoint holds %d epochs, want 1", conv, len(back.History()))
		}
		if _, err := back.Train(context.Background(), trainSet, testSet, Options{}); err != nil {
			t.Fatal(err)
		}
		want, got := whole.Net.Params(), back.Net.Params()
		for i := range want {
			if !slices.Equal(want[i].Value.Data, got[i].Value.Data) {
				t.Errorf("--conv %s: %s differs between the uninterrupted and the resumed run", conv, want[i].Name)
			}
		}
	}
}
