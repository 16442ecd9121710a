package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/diag"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/recipe"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// digitnet runs the command in-process and returns its exit status and outputs.
func digitnet(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(denseOnOneThread(args), &o, &e)
	return code, o.String(), e.String()
}

// denseOnOneThread gives a train or diagnose run of the dense network one BLAS thread
// unless the test chooses the threads or another network. `go test ./...` runs other
// packages' tests beside these, and OpenBLAS's two threads hand every product to each
// other, waiting a scheduler slice whenever a core is taken (README, Testing): under two
// busy loops this package took 30 minutes with two threads.
func denseOnOneThread(args []string) []string {
	if len(args) == 0 || (args[0] != "train" && args[0] != "diagnose") {
		return args
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "threads" || name == "model" || name == "arch" || name == "resume") {
			return args
		}
	}
	return append([]string{args[0], "--threads", "1"}, args[1:]...)
}

// oneThread gives a train or diagnose run one thread, whatever its network, unless the
// test chooses the threads. The threads of the matrix products and a CNN's workers are
// settings of the whole process, and a parallel test (t.Parallel) runs its commands in
// it beside the other parallel tests' runs. So every such run has one thread (train and
// diagnose through oneThread; predict and serve set none), no run changes another's
// (runs setting the thread count at the same moment all set it to 1), and each gives
// the results it gives alone. eval sets every core: a test that runs it
// in-process stays serial, as does one that changes plainEvery. A parallel test's own
// processes (buildDigitnet) are on one thread too, as the busy machine wants.
func oneThread(args []string) []string {
	if len(args) == 0 || (args[0] != "train" && args[0] != "diagnose") {
		return args
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "threads" {
			return args
		}
	}
	return append([]string{args[0], "--threads", "1"}, args[1:]...)
}

// needMNIST loads MNIST (fetching it through the Go module proxy when it is not cached,
// as a user's first run does) or fails: the data is part of what the tests check. It is
// loaded once per test binary and shared: callers only read it.
func needMNIST(t *testing.T) (trainSet, testSet *dataset.Set) {
	t.Helper()
	sets, err := loadMNIST()
	if err != nil {
		t.Fatalf("loading MNIST: %v", err)
	}
	return sets[0], sets[1]
}

var loadMNIST = sync.OnceValues(func() ([2]*dataset.Set, error) {
	tr, te, err := dataset.Load(context.Background(), dataset.Options{Dataset: "mnist"})
	return [2]*dataset.Set{tr, te}, err
})

type event struct {
	Event         string   `json:"event"`
	Epoch         int      `json:"epoch"`
	Loss          *float64 `json:"loss"`
	TrainAccuracy *float64 `json:"train_accuracy"`
	TestAccuracy  *float64 `json:"test_accuracy"`
	Seconds       *float64 `json:"seconds"`
	Interrupted   bool     `json:"interrupted"`
	Confusion     [][]int  `json:"confusion"`
}

// parseEvents decodes the --json stream, failing on any line that is not an event with
// every contract key present.
func parseEvents(t *testing.T, out string) []event {
	t.Helper()
	var evs []event
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e event
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		if e.Loss == nil || e.TrainAccuracy == nil || e.TestAccuracy == nil || e.Seconds == nil || (e.Event != "epoch" && e.Event != "done") {
			t.Fatalf("line %q lacks a contract key (event, epoch, loss, train_accuracy, test_accuracy, seconds)", sc.Text())
		}
		for _, a := range []float64{*e.TrainAccuracy, *e.TestAccuracy} {
			if a < 0 || a > 1 {
				t.Fatalf("line %q: accuracy %g outside [0,1]", sc.Text(), a)
			}
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 || evs[len(evs)-1].Event != "done" {
		t.Fatalf("JSON stream does not end with a done event:\n%s", out)
	}
	return evs
}

func TestTrainJSONStreamAndHistory(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "h.csv")
	histJSON := filepath.Join(dir, "h.json")
	code, out, errOut := digitnet("train", "--train-limit", "3000", "--test-limit", "1000", "--epochs", "3", "--json", "--progress", "none", "--history", hist)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	evs := parseEvents(t, out)
	if len(evs) != 4 {
		t.Fatalf("%d events, want 3 epoch events and a done event:\n%s", len(evs), out)
	}
	var sum float64
	for i, e := range evs[:3] {
		if e.Event != "epoch" || e.Epoch != i+1 {
			t.Errorf("event %d = %s epoch %d, want epoch %d", i, e.Event, e.Epoch, i+1)
		}
		sum += *e.Seconds
	}
	done := evs[3]
	if done.Epoch != 3 || *done.TestAccuracy != *evs[2].TestAccuracy || *done.TrainAccuracy != *evs[2].TrainAccuracy {
		t.Errorf("done %+v does not repeat the last epoch's state %+v", done, evs[2])
	}
	if d := *done.Seconds - sum; d > 1e-9 || d < -1e-9 {
		t.Errorf("done seconds %g, want the sum of epoch seconds %g", *done.Seconds, sum)
	}
	if len(done.Confusion) != 10 {
		t.Errorf("done confusion has %d rows, want 10", len(done.Confusion))
	}
	if *done.TestAccuracy < 0.85 {
		t.Errorf("3000 images, 3 epochs: test accuracy %g, want ≥ 0.85", *done.TestAccuracy)
	}
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 4 || lines[0] != "epoch,loss,train_accuracy,test_accuracy,seconds,lr" {
		t.Errorf("history CSV:\n%s\nwant a header and 3 rows", b)
	}
	// The same seed gives the same run, and a JSON history too.
	code, out2, _ := digitnet("train", "--train-limit", "3000", "--test-limit", "1000", "--epochs", "3", "--json", "--progress", "none", "--history", histJSON)
	evs2 := parseEvents(t, out2)
	if code != 0 || *evs2[3].TestAccuracy != *done.TestAccuracy || *evs2[3].Loss != *done.Loss {
		t.Errorf("same seed, second run ended with test %v loss %v; first %v %v", *evs2[3].TestAccuracy, *evs2[3].Loss, *done.TestAccuracy, *done.Loss)
	}
	var h []train.Epoch
	if b, err := os.ReadFile(histJSON); err != nil || json.Unmarshal(b, &h) != nil || len(h) != 3 {
		t.Errorf("history JSON: %v, %d epochs; want 3", err, len(h))
	}
}

// TestFixedPresetReaches98 runs `train --preset fixed` as a user would, on the full
// training and test sets: the bar is 98.0 % test accuracy, and the preset
// measured 98.22 % with seed 1 (deterministic, so a drop is a real regression).
// --train-eval running spares the pass over the 60,000 training images after each
// epoch, a fifth of the run: it only measures, so the weights, the loss and the test
// accuracy are bit for bit those of the default (checked: the saved models' tensors are
// identical), and the final train accuracy is still measured on the whole set. The run
// is on one thread, beside the other parallel tests (see oneThread).
func TestFixedPresetReaches98(t *testing.T) {
	if testing.Short() {
		t.Skip("full MNIST training run (~20 s)")
	}
	t.Parallel()
	needMNIST(t)
	code, out, errOut := digitnet(oneThread([]string{"train", "--preset", "fixed", "--train-eval", "running", "--json", "--progress", "none"})...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	evs := parseEvents(t, out)
	done := evs[len(evs)-1]
	if done.Epoch != 20 || *done.TestAccuracy < 0.98 {
		t.Errorf("fixed preset: %d epochs, test accuracy %.4f; want 20 epochs and ≥ 0.98", done.Epoch, *done.TestAccuracy)
	}
	t.Logf("fixed preset: test %.4f, train %.4f, %.1fs training", *done.TestAccuracy, *done.TrainAccuracy, *done.Seconds)
}

// TestSeedPresetFailsLikeTheSeed: the seed's network on a short run shows its
// characteristic failure: nearly every hidden sigmoid saturated, before and after
// training, and accuracy far below what the same network reaches when fixed.
func TestSeedPresetFailsLikeTheSeed(t *testing.T) {
	trainRaw, testRaw := needMNIST(t)
	c, _ := recipe.Preset("seed")
	c.Seed, c.Epochs = 1, 1
	trainSet := train.Subset(c.Data(trainRaw), 10000)
	testSet := train.Subset(c.Data(testRaw), 2000)
	src := rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15)
	rng := rand.New(src)
	net, err := c.MLP().Build(rng)
	if err != nil {
		t.Fatal(err)
	}
	probe := tensor.New(500, 784)
	labels := make([]int, 500)
	idx := make([]int, 500)
	for i := range idx {
		idx[i] = i
	}
	testSet.Batch(idx, probe.Data, labels)
	saturated := func() float64 { return diag.Activities(net, probe)[0].Saturated }
	if s := saturated(); s < 0.9 {
		t.Errorf("seed network at init: %.1f%% of hidden pre-activations beyond |z| > 5, want ≥ 90%%", 100*s)
	}
	opt, _ := optim.New(c.Optimizer, c.LR)
	res, err := train.Run(context.Background(), net, opt, trainSet, testSet, train.Config{Epochs: 1, BatchSize: c.Batch}, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := saturated(); s < 0.9 {
		t.Errorf("seed network after an epoch: %.1f%% saturated, want ≥ 90%%", 100*s)
	}
	if a := res.Train.Accuracy; a > 0.85 {
		t.Errorf("seed network: train accuracy %.3f after an epoch on 10000 images, want ≤ 0.85 (it should fail)", a)
	}
	t.Logf("seed preset, 1 epoch on 10000 images: train %.3f, test %.3f", res.Train.Accuracy, res.Test.Accuracy)
}

func TestSeedPresetSettings(t *testing.T) {
	code, _, errOut := digitnet("train", "--preset", "seed", "--epochs", "0")
	if code != 2 || !strings.Contains(errOut, "--epochs 0: want at least 1") {
		t.Errorf("--epochs 0 with a preset: exit %d, %q", code, errOut)
	}
	s, _ := recipe.Preset("seed")
	if s.Input != "raw" || s.Init != "normal" || s.Batch != 1 || s.Shuffle || s.LR != 0.01 || s.Epochs != 20 ||
		s.Activation != "sigmoid" || s.Output != "sigmoid" || s.Loss != "bce" || s.Optimizer != "sgd" {
		t.Errorf("seed preset %+v differs from the seed network", s)
	}
}

func TestTrainRejectsBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--activation", "swish"}, `unknown activation "swish", want one of [sigmoid tanh relu]`},
		{[]string{"--optimizer", "rmsprop"}, `unknown optimizer "rmsprop", want one of [sgd momentum nesterov adam adamw]`},
		{[]string{"--layers", "100,10"}, "the network takes 100 inputs ([100]), but the images have 28×28 = 784 pixels"},
		{[]string{"--layers", "784,300,7"}, "the network ends with 7 outputs, but there are 10 classes"},
		{[]string{"--patience", "3"}, "--patience 3: want a validation set to watch: val > 0"},
		{[]string{"--label-smoothing", "0.1", "--loss", "mse"}, "label smoothing 0.1"},
		{[]string{"--weight-decay", "-1"}, "weight decay -1"},
		{[]string{"--schedule", "exp"}, `--schedule "exp": want one of constant, cosine, step, warmup, onecycle`},
		{[]string{"--augment", "mixup"}, `--augment "mixup": want none, affine, elastic, flip, shift-flip, affine-flip, pen, pen-elastic or affine-widen`},
		{[]string{"--model", "resnet"}, `--model "resnet": want mlp, cnn, examples or lenet5`},
		{[]string{"--conv", "fft"}, `--conv "fft": want auto, gemm, winograd, direct or portable`},
		{[]string{"--arch", "/no/such/net.json"}, "--arch: open /no/such/net.json"},
		{[]string{"--layers", "784,x,10"}, "not a list of positive integers"},
		{[]string{"--output", "linear", "--loss", "ce"}, "loss ce needs probabilities"},
		{[]string{"--preset", "best"}, `--preset "best": want one of default, seed, fixed`},
		{[]string{"--lr", "0"}, "learning rate 0: want a positive number"},
		{[]string{"--batch", "0"}, "--batch 0: want at least 1"},
		{[]string{"--dataset", "cifar"}, `unknown --dataset "cifar", want one of mnist, fashion`},
		{[]string{"--input", "log"}, `--input "log": want raw, unit or standard`},
		{[]string{"--history", "h.txt"}, "want a file name ending in .csv or .json"},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		code, _, errOut := digitnet(append([]string{"train"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("train %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestDataCommands(t *testing.T) {
	needMNIST(t)
	code, out, errOut := digitnet("data", "verify", "--dataset", "mnist")
	if code != 0 || !strings.Contains(out, "match their recorded SHA-256") {
		t.Errorf("data verify: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = digitnet("data", "info")
	if code != 0 || !strings.Contains(out, "train-images-idx3-ubyte") || !strings.Contains(out, "60000 train, 10000 test") {
		t.Errorf("data info: exit %d\n%s", code, out)
	}
	code, _, errOut = digitnet("data", "frobnicate")
	if code != 2 || !strings.Contains(errOut, "want fetch, verify or info") {
		t.Errorf("data frobnicate: exit %d, %q", code, errOut)
	}
	code, _, errOut = digitnet("data", "verify", "--dataset", "emnist")
	if code != 1 || !strings.Contains(errOut, "emnist") {
		t.Errorf("data verify --dataset emnist: exit %d, %q", code, errOut)
	}
}

func TestBadIDXGivesOneLineError(t *testing.T) {
	needMNIST(t)
	info, err := dataset.Stat(dataset.Options{Dataset: "mnist"})
	if err != nil || info.Dir == "" {
		t.Fatalf("stat: %v", err)
	}
	dir := t.TempDir()
	for _, f := range info.Files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Name, "train-images") {
			b = b[:len(b)/2] // a download cut in the middle
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f.Path)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := digitnet("train", "--data", dir, "--epochs", "1", "--json")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if code != 1 || out != "" || !strings.HasPrefix(last, "digitnet train: ") || !strings.Contains(last, "train-images-idx3-ubyte") || strings.Contains(errOut, "panic") {
		t.Errorf("truncated train images: exit %d, stdout %q, stderr:\n%s\nwant exit 1 and a one-line error naming the file", code, out, errOut)
	}
}

// TestInterruptPrintsFinalReport sends SIGINT to a real digitnet process once it has
// reported its first epoch: it must stop after the batch it is in, print the done event
// with interrupted=true, and exit 130.
func TestInterruptPrintsFinalReport(t *testing.T) {
	t.Parallel() // a process of its own, on one thread (see oneThread)
	needMNIST(t)
	bin := buildDigitnet(t)
	cmd := exec.Command(bin, oneThread([]string{"train", "--epochs", "50", "--train-limit", "20000", "--json", "--progress", "none"})...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() { // the first epoch event
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), `{"event":"epoch"`) {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("after SIGINT: %v, want exit status 130", err)
	}
	evs := parseEvents(t, out.String())
	done := evs[len(evs)-1]
	if !done.Interrupted || done.Epoch >= 50 || *done.TestAccuracy < 0.5 {
		t.Errorf("done after SIGINT: %+v, want interrupted with a real test accuracy", done)
	}
}

// TestTrainSaveEvalReproduces: the accuracy `eval` reports for a saved model is the test
// accuracy `train` printed at the end.
func TestTrainSaveEvalReproduces(t *testing.T) {
	needMNIST(t)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	code, out, errOut := digitnet("train", "--train-limit", "5000", "--epochs", "2", "--json", "--progress", "none", "--out", path)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, errOut)
	}
	evs := parseEvents(t, out)
	code, out, errOut = digitnet("eval", "--model", path, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, out)
	}
	if want := *evs[len(evs)-1].TestAccuracy; rep.Accuracy != want {
		t.Errorf("eval accuracy %v, train ended with %v", rep.Accuracy, want)
	}
	if len(rep.PerClass) != 10 || len(rep.Confusion) != 10 || rep.PerClass[3].Class != 3 || rep.PerClass[3].F1 <= 0 {
		t.Errorf("eval report per_class %+v confusion rows %d", rep.PerClass, len(rep.Confusion))
	}
	code, _, errOut = digitnet("eval", "--model", "main.go")
	if code != 1 || !strings.Contains(errOut, "main.go: not a valid digitnet model") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("eval of a Go file: exit %d, %q; want one line naming the file", code, errOut)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary != "" {
		os.RemoveAll(filepath.Dir(builtBinary))
	}
	if seedDir != "" {
		os.RemoveAll(seedDir)
	}
	if code == 0 {
		// Every command run in-process has stopped what it started (servers, signal
		// handlers, data prefetching).
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// buildDigitnet compiles the command once per test binary, for the tests that run it
// as a process of its own (tests running side by side share the one build); TestMain
// removes it.
func buildDigitnet(t *testing.T) string {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var builtBinary string

var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "digitnet-test-bin")
	if err != nil {
		return "", err
	}
	builtBinary = filepath.Join(dir, "digitnet")
	if out, err := exec.Command("go", "build", "-o", builtBinary, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return builtBinary, nil
})

// startUntil starts bin with args and reads its standard output until a line starting
// with prefix: the event a test waits for, never a time. The rest of the output is
// drained in the background, so the process never blocks on a full pipe.
func startUntil(t *testing.T, bin string, args []string, prefix string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			go io.Copy(io.Discard, stdout)
			return cmd
		}
	}
	cmd.Wait()
	t.Fatalf("%v ended without printing a line starting %q", args, prefix)
	return nil
}

// TestKilledRunResumesBitIdentical: a run killed with SIGKILL after its first
// checkpoint, or stopped with SIGTERM in the middle of an epoch, and resumed from its
// checkpoint ends with the same weights and history (all but the wall-clock seconds) as
// an uninterrupted run with the same seed. The kill waits for the line the run prints
// once the checkpoint is on disk, never for a time.
func TestKilledRunResumesBitIdentical(t *testing.T) {
	needMNIST(t)
	bin := buildDigitnet(t)
	dir := t.TempDir()
	// With elastic augmentation, so the augmenter's state must resume too, and dropout,
	// whose masks must go on from the saved random state.
	p := func(name string) string { return filepath.Join(dir, name) }
	arch := `{"input": [784], "init": "he-normal", "output": "softmax", "loss": "ce", "layers": [
		{"type": "dense", "out": 300}, {"type": "relu"}, {"type": "dropout", "p": 0.3}, {"type": "dense", "out": 10}]}`
	if err := os.WriteFile(p("net.json"), []byte(arch), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "--arch", p("net.json"), "--train-limit", "12000", "--test-limit", "2000", "--epochs", "3", "--batch", "32", "--progress", "none", "--augment", "elastic",
		"--threads", "1"} // see denseOnOneThread

	full := exec.Command(bin, append(args, "--out", p("a.safetensors"), "--history", p("a.json"))...)
	if out, err := full.CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	readHist := func(name string) []train.Epoch {
		var h []train.Epoch
		bs, err := os.ReadFile(p(name))
		if err != nil || json.Unmarshal(bs, &h) != nil {
			t.Fatalf("history %s: %v", name, err)
		}
		for i := range h {
			h[i].Seconds = 0
		}
		return h
	}
	a, err := model.Load(p("a.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wantHist := readHist("a.json")

	// stopMidEpoch runs train in-process with a progress line after every batch, and
	// ends its context, as SIGTERM would, on the first line of epoch 2: deterministically
	// within an epoch.
	stopMidEpoch := func(ck string) int {
		defer func(d time.Duration) { plainEvery = d }(plainEvery)
		plainEvery = 0
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		stderr := &onLine{prefix: "epoch 2/3 ", do: func() { cancel(interrupted{syscall.SIGTERM}) }}
		a := append(slices.Clone(args), "--checkpoint", ck)
		a[slices.Index(a, "none")] = "plain"
		var ee exitError
		if err := runTrain(ctx, a[1:], io.Discard, stderr); !errors.As(err, &ee) {
			t.Fatalf("train stopped mid-epoch: %v, want an exit status", err)
		}
		return ee.code
	}
	for _, c := range []struct {
		name string
		stop func(ck string) int // returns the stopped run's exit status; -1: killed
		exit int
	}{
		{"SIGKILL", func(ck string) int {
			cmd := startUntil(t, bin, append(args, "--checkpoint", ck), "checkpoint: epoch 1 saved")
			cmd.Process.Kill()
			cmd.Wait()
			return cmd.ProcessState.ExitCode()
		}, -1},
		{"SIGTERM", func(ck string) int {
			cmd := startUntil(t, bin, append(args, "--checkpoint", ck), "checkpoint: epoch 1 saved")
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			return cmd.ProcessState.ExitCode()
		}, 143},
		{"mid-epoch", stopMidEpoch, 143},
	} {
		t.Run(c.name, func(t *testing.T) {
			ck := p("ck-" + c.name)
			if code := c.stop(ck); code != c.exit {
				t.Fatalf("the stopped run: exit status %d, want %d", code, c.exit)
			}
			state, err := model.LoadCheckpoint(filepath.Join(ck, checkpointFile))
			if err != nil {
				t.Fatalf("checkpoint after the stop: %v", err)
			}
			var st recipe.State
			if err := json.Unmarshal(state.State, &st); err != nil || len(st.History) == 0 || len(st.History) >= 3 || st.Version != recipe.StateVersion {
				t.Fatalf("the stopped run's checkpoint holds %d epochs, version %d (%v); want it stopped mid-run", len(st.History), st.Version, err)
			}
			if st.Partial != nil {
				t.Logf("stopped in epoch %d after %d examples", st.Partial.Epoch, st.Partial.Done)
			} else {
				t.Logf("stopped after epoch %d", len(st.History))
			}
			if c.name == "mid-epoch" && (st.Partial == nil || st.Partial.Epoch != 2 || st.Partial.Done == 0) {
				t.Fatalf("stopped on epoch 2's first progress line, the checkpoint holds partial %+v, want epoch 2 with examples done", st.Partial)
			}
			out, err := exec.Command(bin, "train", "--resume", ck, "--threads", "1", "--progress", "none", "--out", p(c.name+".safetensors"), "--history", p(c.name+".json")).CombinedOutput()
			if err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "resuming from") {
				t.Errorf("resume did not say it resumed:\n%s", out)
			}
			b, err := model.Load(p(c.name + ".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			pa, pb := a.Net.Params(), b.Net.Params()
			for i := range pa {
				for j, v := range pa[i].Value.Data {
					if pb[i].Value.Data[j] != v {
						t.Fatalf("%s[%d]: resumed %g, uninterrupted %g", pa[i].Name, j, pb[i].Value.Data[j], v)
					}
				}
			}
			if got := readHist(c.name + ".json"); !reflect.DeepEqual(wantHist, got) {
				t.Errorf("histories differ:\nuninterrupted %+v\nresumed       %+v", wantHist, got)
			}
		})
	}
}

func TestResumeRejectsConflictingFlags(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	code, _, errOut := digitnet("train", "--train-limit", "1000", "--test-limit", "500", "--epochs", "2", "--progress", "none", "--checkpoint", dir)
	if code != 0 {
		t.Fatalf("train: %s", errOut)
	}
	code, _, errOut = digitnet("train", "--resume", dir, "--lr", "0.1", "--progress", "none")
	if code != 2 || !strings.Contains(errOut, "--lr 0.1 differs from the checkpoint's 0.004") {
		t.Errorf("resume with another --lr: exit %d, %q", code, errOut)
	}
	// How the products run is part of the run (its rounding): kept, not overridden.
	code, _, errOut = digitnet("train", "--resume", dir, "--conv", "portable", "--progress", "none")
	if code != 2 || !strings.Contains(errOut, "--conv portable differs from the checkpoint's auto") {
		t.Errorf("resume with another --conv: exit %d, %q", code, errOut)
	}
	code, _, errOut = digitnet("train", "--resume", dir, "--precision", "bf16", "--progress", "none")
	if code != 2 || !strings.Contains(errOut, "--precision bf16 differs from the checkpoint's fp32") {
		t.Errorf("resume with another --precision: exit %d, %q", code, errOut)
	}
	// Settings the checkpoint left out of its file (at their zero value) are unset, and a
	// flag setting one is a change like any other, not silently dropped.
	for _, flags := range [][]string{{"--weight-decay", "0.5"}, {"--val", "100"}, {"--label-smoothing", "0.1"}} {
		code, _, errOut = digitnet(append([]string{"train", "--resume", dir, "--progress", "none"}, flags...)...)
		if want := flags[0] + " " + flags[1] + " differs from the checkpoint's unset"; code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("resume with %v: exit %d, %q; want %q", flags, code, errOut, want)
		}
	}
	code, _, errOut = digitnet("train", "--resume", dir, "--weight-decay", "0", "--progress", "none", "--json")
	if code != 0 {
		t.Errorf("resume with --weight-decay 0, the checkpoint's own: exit %d, %q", code, errOut)
	}
	code, _, errOut = digitnet("train", "--resume", t.TempDir(), "--progress", "none")
	if code != 1 || !strings.Contains(errOut, checkpointFile) {
		t.Errorf("resume from an empty directory: exit %d, %q", code, errOut)
	}
	// --resume takes the checkpoint file too, and names itself when the path is wrong.
	if code, _, errOut := digitnet("train", "--resume", filepath.Join(dir, checkpointFile), "--progress", "none", "--json"); code != 0 {
		t.Errorf("resume from the checkpoint file: exit %d, %q", code, errOut)
	}
	if code, _, errOut := digitnet("train", "--resume", filepath.Join(dir, "missing"), "--progress", "none"); code != 1 || !strings.HasPrefix(errOut, "digitnet train: --resume") {
		t.Errorf("resume from a missing directory: exit %d, %q", code, errOut)
	}
	// A finished run resumes to its final report without training more.
	code, out, errOut := digitnet("train", "--resume", dir, "--progress", "none", "--json")
	if code != 0 {
		t.Fatalf("resume of a finished run: exit %d %s", code, errOut)
	}
	if evs := parseEvents(t, out); len(evs) != 1 || evs[0].Epoch != 2 {
		t.Errorf("resume of a finished run printed %d events, want only done with epoch 2:\n%s", len(evs), out)
	}
}

func TestXORAndGradcheckCommands(t *testing.T) {
	for _, args := range [][]string{{"xor"}, {"xor", "--hidden", "4", "--seed", "2"}} {
		code, out, errOut := digitnet(args...)
		if code != 0 || !strings.Contains(out, "accuracy 100%") || !strings.Contains(out, "1 xor 1 = 0") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	for _, preset := range []string{"default", "seed", "fixed"} {
		code, out, errOut := digitnet("gradcheck", "--preset", preset, "--json")
		var rep struct {
			Pass    bool
			Tensors []struct {
				Tensor   string
				RelError float64 `json:"rel_error"`
				Checked  int
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.Pass || len(rep.Tensors) != 4 || rep.Tensors[0].Checked == 0 {
			t.Errorf("gradcheck --preset %s: exit %d, %v\n%s%s", preset, code, err, out, errOut)
		}
	}
}

type diagReport struct {
	Findings []struct {
		ID       string         `json:"id"`
		Severity string         `json:"severity"`
		Message  string         `json:"message"`
		Evidence map[string]any `json:"evidence"`
		Fix      string         `json:"fix"`
		Tried    *tried         `json:"tried"`
	} `json:"findings"`
	Command string  `json:"command"`
	Tried   *tried  `json:"tried"`
	Seconds float64 `json:"seconds"`
}

// tried is a fix's short run in `diagnose --json`.
type tried struct {
	Steps  int `json:"steps"`
	Before struct {
		Loss     *float64 `json:"loss"`
		Accuracy float64  `json:"accuracy"`
	} `json:"before"`
	After struct {
		Loss     *float64 `json:"loss"`
		Accuracy float64  `json:"accuracy"`
	} `json:"after"`
}

// diagnose runs `diagnose --json` with args on one thread (see oneThread), so that a
// parallel test may call it, and returns its report.
func diagnose(t *testing.T, args ...string) diagReport {
	t.Helper()
	code, out, errOut := digitnet(oneThread(append([]string{"diagnose", "--json"}, args...))...)
	if code != 0 {
		t.Fatalf("diagnose %v: exit %d\n%s", args, code, errOut)
	}
	var rep diagReport
	if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &rep); err != nil {
		t.Fatalf("diagnose %v: %v\n%s", args, err, out)
	}
	return rep
}

// TestDiagnoseRules: a configuration with each fault gets that finding, with a fix that
// was tried and helped; a mismatch that does not hurt the run is only information. Each
// configuration is diagnosed once, in a subtest of its own, beside the others.
func TestDiagnoseRules(t *testing.T) {
	t.Parallel()
	needMNIST(t)
	cases := []struct {
		args    []string
		id, fix string // the fix's start; "" with info: a finding that does not hurt
		info    bool
	}{
		{[]string{"--input", "raw"}, "inputs-scale", "--input unit", false},
		{[]string{"--init", "normal"}, "init-too-large", "--init he-normal", false},
		{[]string{"--init", "zeros"}, "init-symmetric", "--init he-normal", false},
		{[]string{"--init", "constant", "--activation", "tanh"}, "init-symmetric", "--init glorot-uniform", false},
		{[]string{"--activation", "tanh", "--init", "normal"}, "saturated-units", "--init glorot-uniform", false},
		{[]string{"--lr", "10"}, "lr-too-high", "--lr", false},
		{[]string{"--optimizer", "sgd", "--lr", "1e-6"}, "lr-too-low", "--lr", false},
		{[]string{"--optimizer", "sgd", "--lr", "1e-6"}, "accuracy-at-chance", "", false},
		{[]string{"--optimizer", "adam", "--lr", "0.1"}, "dead-relu", "--lr 0.0", false},
		{[]string{"--output", "sigmoid", "--loss", "ce"}, "output-loss-mismatch", "--output softmax", false},
		{[]string{"--output", "softmax", "--loss", "mse"}, "output-loss-mismatch", "", true},
		{[]string{"--layers", "784,100,100,100,100,100,100,10", "--activation", "sigmoid"}, "vanishing-gradients", "--activation relu", false},
		{[]string{"--train-limit", "300", "--batch", "32"}, "overfitting", "--train-limit 0", false},
		{[]string{"--init", "normal", "--layers", "784,300,300,300,10"}, "exploding-gradients", "--init he-normal", false},
	}
	// The cases by configuration, in the table's order: a configuration with two
	// findings to show is diagnosed once.
	var configs []string
	byConfig := map[string][]int{}
	for i, c := range cases {
		k := strings.Join(c.args, " ")
		if byConfig[k] == nil {
			configs = append(configs, k)
		}
		byConfig[k] = append(byConfig[k], i)
	}
	for _, k := range configs {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			rep := diagnose(t, cases[byConfig[k][0]].args...)
			for _, i := range byConfig[k] {
				c := cases[i]
				found := false
				for _, f := range rep.Findings {
					if f.ID != c.id || len(f.Evidence) == 0 {
						continue
					}
					if c.info {
						found = f.Severity == "info" && f.Fix == ""
						continue
					}
					helped := c.fix == "" || (f.Tried != nil && f.Tried.After.Accuracy > f.Tried.Before.Accuracy)
					if f.Severity != "info" && strings.HasPrefix(f.Fix, c.fix) && helped {
						found = true
					}
				}
				if !found {
					t.Errorf("diagnose %v: findings %+v, want %s with fix %q (info only: %v), tried and helping", c.args, rep.Findings, c.id, c.fix, c.info)
				}
			}
		})
	}
}

// seedRun is `digitnet diagnose --preset seed --json --report DIR --steps 300` (the
// default steps, given so the suggested command is seen to drop it), run once per test
// binary for the tests that read it: TestDiagnoseExplainsSeed and TestDiagnoseReport.
// Without -short it is the same command with --apply-fixes --epochs 8 --train-eval
// running, which diagnoses exactly as without them (the probes run a fixed number of
// steps and measure their own accuracy, whatever --epochs and --train-eval say; the
// JSON differs only in the suggested command, which keeps all but --apply-fixes), then trains with the
// fixes (--train-eval running: no pass over the training set after each epoch, the
// same weights; see TestFixedPresetReaches98). One diagnosis of the seed, the slowest
// there is (per-example SGD), serves every check of it.
type seedRun struct {
	rep     diagReport
	applied string // the run with the fixes applied: its JSON events ("" with -short)
	report  string // the --report directory
	failed  string // why the command failed, "" when it did not
}

// seedDir holds seedDiagnosis's report; TestMain removes it.
var seedDir string

var seedDiagnosis = sync.OnceValue(func() (r seedRun) {
	var err error
	if seedDir, err = os.MkdirTemp("", "digitnet-test-seed"); err != nil {
		return seedRun{failed: err.Error()}
	}
	r.report = filepath.Join(seedDir, "report")
	args := []string{"diagnose", "--preset", "seed", "--json", "--progress", "none", "--report", r.report, "--steps", "300"}
	if !testing.Short() {
		args = append(args, "--epochs", "8", "--train-eval", "running", "--apply-fixes")
	}
	code, out, errOut := digitnet(oneThread(args)...)
	first, rest, _ := strings.Cut(out, "\n")
	if err := json.Unmarshal([]byte(first), &r.rep); code != 0 || err != nil {
		r.failed = fmt.Sprintf("%v: exit %d, %v\n%s%s", args, code, err, out, errOut)
	}
	r.applied = strings.TrimSpace(rest)
	return r
})

// needSeedDiagnosis is seedDiagnosis, or the test's end when it failed.
func needSeedDiagnosis(t *testing.T) seedRun {
	t.Helper()
	needMNIST(t)
	r := seedDiagnosis()
	if r.failed != "" {
		t.Fatalf("diagnose of the seed preset: %s", r.failed)
	}
	return r
}

// TestDiagnoseExplainsSeed: the seed's real causes are named, and applying the fixes
// trains the same network to above 97 % test accuracy.
func TestDiagnoseExplainsSeed(t *testing.T) {
	t.Parallel()
	r := needSeedDiagnosis(t)
	rep := r.rep
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.ID] = f.Severity != "info" && f.Tried != nil
	}
	for _, id := range []string{"inputs-scale", "init-too-large", "saturated-units"} {
		if !got[id] {
			t.Errorf("seed preset: %s not reported as a warning or error; findings %+v", id, rep.Findings)
		}
	}
	if rep.Tried == nil || rep.Tried.After.Accuracy < rep.Tried.Before.Accuracy+0.2 {
		t.Errorf("the suggested run was not tried, or did not help: %+v", rep.Tried)
	}
	if !strings.Contains(rep.Command, "--input unit") || !strings.Contains(rep.Command, "--init glorot-uniform") {
		t.Errorf("suggested command %q lacks the fixes", rep.Command)
	}
	if strings.Contains(rep.Command, "--steps") || strings.Contains(rep.Command, "--report") { // diagnose's own: train has no --steps
		t.Errorf("suggested command %q keeps diagnose's own flags", rep.Command)
	}
	if testing.Short() {
		return
	}
	evs := parseEvents(t, r.applied)
	if done := evs[len(evs)-1]; *done.TestAccuracy < 0.97 {
		t.Errorf("seed preset with the fixes applied: test accuracy %.4f after %d epochs, want > 0.97", *done.TestAccuracy, done.Epoch)
	}
}

// TestDiagnoseReport: diagnose --report writes the activation histograms and the
// findings, refers to nothing on the network, and the suggested command does not
// write the report again nor carry diagnose's --apply-fixes (train rejects it).
// (TestReports checks train's and eval's.)
func TestDiagnoseReport(t *testing.T) {
	t.Parallel()
	r := needSeedDiagnosis(t)
	checkReport(t, "diagnose", r.report, "index.html", "activations.png", "activations.svg")
	html, _ := os.ReadFile(filepath.Join(r.report, "index.html"))
	if !strings.Contains(string(html), "saturated-units") || strings.Contains(r.rep.Command, "--report") || strings.Contains(r.rep.Command, "apply-fixes") {
		t.Errorf("diagnose report lacks the findings, or the suggested command %q keeps --report or --apply-fixes", r.rep.Command)
	}
}

func TestExportCommand(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	m := filepath.Join(dir, "m.safetensors")
	if code, _, errOut := digitnet("train", "--train-limit", "1000", "--test-limit", "200", "--epochs", "1", "--progress", "none", "--out", m); code != 0 {
		t.Fatalf("train: %s", errOut)
	}
	out := filepath.Join(dir, "m.onnx")
	code, stdout, errOut := digitnet("export", "--model", m, "--onnx", out)
	if code != 0 || !strings.Contains(stdout, `input "pixels"`) {
		t.Fatalf("export: exit %d %s %s", code, stdout, errOut)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() < 784*300*4 {
		t.Errorf("ONNX file: %v, %d bytes; want the 784x300 weights in it", err, fi.Size())
	}
	if code, _, errOut := digitnet("export", "--model", m); code != 2 || !strings.Contains(errOut, "--onnx FILE") {
		t.Errorf("export without --onnx: exit %d %q", code, errOut)
	}
	// int8: the weights as int8, a quarter of the float32 file's size or so.
	out8 := filepath.Join(dir, "m-int8.onnx")
	code, stdout, errOut = digitnet("export", "--model", m, "--onnx", out8, "--precision", "int8")
	if code != 0 || !strings.Contains(stdout, "int8") {
		t.Fatalf("export --precision int8: exit %d %s %s", code, stdout, errOut)
	}
	if fi, err := os.Stat(out8); err != nil || fi.Size() < 784*300 || fi.Size() > 784*300*2 {
		t.Errorf("int8 ONNX file: %v, %d bytes; want the 784x300 weights in one byte each", err, fi.Size())
	}
}

func TestReports(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	runs := []struct {
		args  []string
		files []string
	}{
		{[]string{"train", "--train-limit", "3000", "--epochs", "2", "--progress", "none", "--out", model, "--report", filepath.Join(dir, "train")},
			[]string{"index.html", "curves.png", "curves.svg", "confusion.png", "confusion.svg", "misclassified.png", "metrics.csv"}},
		{[]string{"eval", "--model", model, "--report", filepath.Join(dir, "eval")},
			[]string{"index.html", "confusion.png", "misclassified.png", "metrics.csv"}},
		// An ensemble (as the pretrained model is) writes its report too.
		{[]string{"eval", "--model", model + "," + model, "--report", filepath.Join(dir, "eval-ensemble")},
			[]string{"index.html", "confusion.png", "misclassified.png", "metrics.csv"}},
		// diagnose's report: TestDiagnoseReport, on the seed diagnosis it shares.
	}
	for _, r := range runs {
		code, _, errOut := digitnet(r.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", r.args, code, errOut)
		}
		checkReport(t, r.args[0], r.args[len(r.args)-1], r.files...)
	}
}

// checkReport checks that cmd's report in dir has each of files, not empty, and that
// its page refers to nothing on the network.
func checkReport(t *testing.T, cmd, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %s missing or empty (%v)", cmd, f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if strings.Contains(string(html), "http://") || strings.Contains(string(html), "https://") {
		t.Errorf("%s report refers to the network", cmd)
	}
}

// TestEnsembleEvalAndPredict: comma-separated models are averaged, in eval and predict.
func TestEnsembleEvalAndPredict(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	var paths []string
	worst := 1.0
	for _, seed := range []string{"1", "2", "3"} {
		p := filepath.Join(dir, "m"+seed+".safetensors")
		code, out, errOut := digitnet("train", "--seed", seed, "--train-limit", "5000", "--epochs", "2", "--json", "--progress", "none", "--out", p)
		if code != 0 {
			t.Fatalf("train: %s", errOut)
		}
		evs := parseEvents(t, out)
		worst = min(worst, *evs[len(evs)-1].TestAccuracy)
		paths = append(paths, p)
	}
	code, out, errOut := digitnet("eval", "--model", strings.Join(paths, ","), "--json")
	var rep evalReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("ensemble eval: exit %d %s %s", code, out, errOut)
	}
	if rep.Accuracy < worst || len(rep.PerClass) != 10 || rep.Examples != 10000 {
		t.Errorf("ensemble accuracy %.4f below its worst member's %.4f, or a malformed report %+v", rep.Accuracy, worst, rep)
	}
	code, _, errOut = digitnet("eval", "--model", paths[0]+",/no/such/model")
	if code != 1 || !strings.Contains(errOut, "/no/such/model") {
		t.Errorf("ensemble with a missing member: exit %d %q", code, errOut)
	}
	// --weights 1,0,0 is the first member alone.
	evalJSON := func(args ...string) evalReport {
		t.Helper()
		code, out, errOut := digitnet(append([]string{"eval", "--json"}, args...)...)
		var rep evalReport
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
			t.Fatalf("eval %v: exit %d %s %s", args, code, out, errOut)
		}
		return rep
	}
	first := evalJSON("--model", paths[0])
	if w := evalJSON("--model", strings.Join(paths, ","), "--weights", "1,0,0"); w.Accuracy != first.Accuracy || !slices.Equal(w.Confusion[3], first.Confusion[3]) {
		t.Errorf("--weights 1,0,0: accuracy %.4f, the first member alone %.4f", w.Accuracy, first.Accuracy)
	}
	for _, args := range [][]string{{"eval", "--model", strings.Join(paths, ","), "--weights", "1,1"}, {"predict", "--model", strings.Join(paths, ","), "--weights", "1,x,1", "x.png"}} {
		if code, _, errOut := digitnet(args...); code != 2 || !strings.Contains(errOut, "--weights") {
			t.Errorf("%v: exit %d %q, want a usage error naming --weights", args, code, errOut)
		}
	}
}

// onLine is an io.Writer that calls do, once, when a line starting with prefix is
// written: a test's hook on a program's output.
type onLine struct {
	prefix string
	do     func()
	buf    []byte
	done   bool
}

func (o *onLine) Write(p []byte) (int, error) {
	o.buf = append(o.buf, p...)
	for {
		i := bytes.IndexByte(o.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if !o.done && bytes.HasPrefix(o.buf[:i], []byte(o.prefix)) {
			o.done = true
			o.do()
		}
		o.buf = o.buf[i+1:]
	}
}

// TestSignalWhileLoadingExits: a command whose work a signal cut short (its error is
// the cancelled read) exits as interrupted, 128 + the signal, saying so in one line;
// the same error without a signal is an ordinary failure.
func TestSignalWhileLoadingExits(t *testing.T) {
	cut := fmt.Errorf("idx: train-images-idx3-ubyte: read payload: %w", context.Canceled)
	for _, c := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(interrupted{c.sig})
		var errOut strings.Builder
		if got := exitCode(ctx, "train", cut, &errOut); got != c.want || !strings.Contains(errOut.String(), "interrupted") || strings.Contains(errOut.String(), "idx:") {
			t.Errorf("%v: exit %d, %q; want %d and one line saying interrupted", c.sig, got, errOut.String(), c.want)
		}
	}
	var errOut strings.Builder
	if got := exitCode(context.Background(), "train", cut, &errOut); got != 1 || !strings.Contains(errOut.String(), "idx:") {
		t.Errorf("without a signal: exit %d, %q; want 1 and the error", got, errOut.String())
	}
}

// TestUnusedTrainFlagsNoted: gradcheck and diagnose take train's flags, but not all of
// them apply; the ones that do not say so instead of passing for used.
func TestUnusedTrainFlagsNoted(t *testing.T) {
	code, _, errOut := digitnet("gradcheck", "--precision", "bf16", "--samples", "2", "--json")
	if code != 0 || !strings.Contains(errOut, "--precision is not used here") {
		t.Errorf("gradcheck --precision bf16: exit %d, %q", code, errOut)
	}
	code, _, errOut = digitnet("gradcheck", "--samples", "2", "--json")
	if code != 0 || strings.Contains(errOut, "not used") {
		t.Errorf("gradcheck without those flags: exit %d, %q", code, errOut)
	}
}

// TestMLPFlagsNeedTheMLP: --layers and --activation shape the MLP; with another
// architecture they are a usage error naming it, not silently ignored.
func TestMLPFlagsNeedTheMLP(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--model", "lenet5", "--activation", "sigmoid"},
		{"train", "--model", "cnn", "--layers", "784,100,10"},
		{"train", "--arch", filepath.Join("..", "..", "examples", "mlp-1200x2.json"), "--layers", "784,10"},
		{"gradcheck", "--model", "cnn", "--activation", "tanh"},
	} {
		if code, _, errOut := digitnet(args...); code != 2 || !strings.Contains(errOut, "applies to --model mlp") {
			t.Errorf("%v: exit %d, %q; want 2 and a usage error", args, code, errOut)
		}
	}
}
