package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/bench"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
)

// benchRow is one line of the benchmark table.
type benchRow struct {
	Work   string  `json:"work"`
	Ours   float64 `json:"digitnet"`
	Peer   float64 `json:"pytorch,omitempty"` // 0 when not measured
	Unit   string  `json:"unit"`
	Ratio  float64 `json:"ratio,omitempty"` // digitnet ÷ PyTorch
	Target string  `json:"target"`
	Met    *bool   `json:"met,omitempty"`
	Note   string  `json:"note,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	peersDir := fs.String("peers", "", "directory of the PyTorch peer scripts (default: $DIGITNET_PEERS, then ../shared/peers)")
	noPeers := fs.Bool("no-peers", false, "measure digitnet only")
	skipSeed := fs.Bool("skip-seed", false, "skip the batch-1 seed epoch (PyTorch takes ~30 s for it)")
	skipCNN := fs.Bool("skip-cnn", false, "skip the CNN rows (about 2 minutes with PyTorch)")
	asJSON := fs.Bool("json", false, "print the rows as JSON")
	threads := fs.Int("threads", runtime.NumCPU(), "threads for digitnet's matrix products")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kernels.SetThreads(*threads)
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	var peers *bench.Peers
	if !*noPeers {
		p, err := bench.FindPeers(*peersDir)
		if err != nil {
			logf("PyTorch figures skipped: %v", err)
		}
		peers = p
	}
	peer := func(script string, args ...string) map[string]any {
		if peers == nil {
			return nil
		}
		logf("PyTorch: %s %s", script, strings.Join(args, " "))
		res, err := peers.Run(ctx, script, args...)
		if err != nil {
			logf("%v", err)
			return nil
		}
		return res
	}

	// Loading, measured first so the files are in the page cache for both sides alike.
	loadSecs := func(opt dataset.Options) (float64, error) {
		var ts []float64
		for range 5 {
			t0 := time.Now()
			if _, _, err := dataset.Load(ctx, opt); err != nil {
				return 0, err
			}
			ts = append(ts, time.Since(t0).Seconds())
		}
		return bench.Median(ts), nil
	}
	trainSet, testSet, err := dataset.Load(ctx, dataset.Options{Dataset: "mnist", Log: stderr})
	if err != nil {
		return err
	}
	m := bench.MNIST{Train: trainSet, Test: testSet}
	loadCache, err := loadSecs(dataset.Options{Dataset: "mnist"})
	if err != nil {
		return err
	}
	var rows []benchRow
	add := func(r benchRow, want func(ratio float64) bool) {
		if r.Peer > 0 {
			r.Ratio = r.Ours / r.Peer
			if want != nil {
				met := want(r.Ratio)
				r.Met = &met
			}
		}
		rows = append(rows, r)
	}
	seen := func(ok bool) *bool { return &ok }

	// 1. One epoch of 784-300-10 ReLU, Adam, batch 128, and the GEMM roofline.
	logf("digitnet: 3 epochs of 784-300-10 ReLU, Adam, batch 128")
	mlpRelu := nn.MLP{Sizes: []int{784, 300, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}
	ep, err := bench.Training{MLP: mlpRelu, Optimizer: "adam", LR: 1e-3, Batch: 128, Epochs: 3, Shuffle: true, Scale: 1.0 / 255, Seed: 1}.Run(ctx, m)
	if err != nil {
		return err
	}
	epoch := bench.Median(ep.Secs)
	gemmSecs, gemmFlops := bench.GemmSeconds(bench.MLPEpochGemms(mlpRelu.Sizes, trainSet.N, 128))
	tm := peer("torch_mlp.py", "--hidden", "300", "--act", "relu", "--opt", "adam", "--lr", "1e-3", "--batch", "128", "--epochs", "3", "--threads", "1")
	r := benchRow{Work: "epoch, 784-300-10 ReLU, Adam, batch 128", Ours: epoch, Unit: "s", Target: "≤ 0.5× PyTorch"}
	r.Peer, _ = bench.Num(tm, "median_epoch_s")
	add(r, func(x float64) bool { return x <= 0.5 })
	roof := gemmSecs / epoch
	rows = append(rows, benchRow{Work: "same epoch: share of the sgemm roofline", Ours: 100 * roof, Unit: "%", Target: "≥ 75 %", Met: seen(roof >= 0.75),
		Note: fmt.Sprintf("%.1f GFLOP of products at %.0f GFLOP/s measured now = %.3f s", gemmFlops/1e9, gemmFlops/gemmSecs/1e9, gemmSecs)})

	// 2. The seed's per-example epoch.
	if !*skipSeed {
		logf("digitnet: one epoch of the seed network (batch 1)")
		s := presets["seed"]
		ep, err := bench.Training{MLP: (&s).mlp(), Optimizer: s.Optimizer, LR: s.LR, Batch: 1, Epochs: 1, Scale: 1, Seed: 1}.Run(ctx, m)
		if err != nil {
			return err
		}
		ts := peer("torch_mlp.py", "--hidden", "300", "--act", "sigmoid", "--opt", "sgd", "--lr", "0.01", "--batch", "1", "--epochs", "1", "--threads", "1", "--blas-threads", "1")
		r := benchRow{Work: "epoch, seed network (784-300-10 sigmoid, batch-1 SGD)", Ours: ep.Secs[0], Unit: "s", Target: "≤ 1/15 PyTorch"}
		r.Peer, _ = bench.Num(ts, "median_epoch_s")
		add(r, func(x float64) bool { return x <= 1.0/15 })
	}

	// 3. Time to 98 % test accuracy with the default preset.
	logf("digitnet: default preset until 98 %% test accuracy")
	d := presets["default"]
	ep, err = bench.Training{MLP: (&d).mlp(), Optimizer: d.Optimizer, LR: d.LR, Batch: d.Batch, Epochs: d.Epochs, Shuffle: true, Scale: 1.0 / 255, Seed: 1, Schedule: (&d).schedule()}.Run(ctx, m)
	if err != nil {
		return err
	}
	tt := peer("torch_mlp.py", "--hidden", "300", "--act", "relu", "--opt", "adam", "--lr", "1e-3", "--batch", "128", "--epochs", "12", "--threads", "1", "--target", "0.98")
	trainS, wallS, epoch98, ok := ep.ToTarget(0.98)
	if !ok {
		rows = append(rows, benchRow{Work: "time to 98 % test accuracy (default train)", Unit: "s", Target: "≤ 2 s and ≤ 0.3× PyTorch", Met: seen(false),
			Note: fmt.Sprintf("did not reach 98 %%: best %.4f", slicesMax(ep.Acc))})
	} else {
		r := benchRow{Work: "time to 98 % test accuracy, wall incl. evaluation (default train)", Ours: wallS, Unit: "s", Target: "≤ 2 s and ≤ 0.3× PyTorch",
			Note: fmt.Sprintf("epoch %d; training alone %.2f s", epoch98, trainS)}
		r.Peer, _ = bench.Num(tt, "time_to_target_wall_s")
		add(r, func(x float64) bool { return x <= 0.3 && wallS <= 2 })
		if r.Peer == 0 {
			rows[len(rows)-1].Met = seen(wallS <= 2)
		}
	}

	// The same with --train-eval running: only the test set is evaluated per epoch, as
	// the PyTorch peer does.
	ep, err = bench.Training{MLP: (&d).mlp(), Optimizer: d.Optimizer, LR: d.LR, Batch: d.Batch, Epochs: d.Epochs, Shuffle: true, Scale: 1.0 / 255, Seed: 1, Schedule: (&d).schedule(), RunningTrainAccuracy: true}.Run(ctx, m)
	if err != nil {
		return err
	}
	if trainS, wallS, epoch98, ok := ep.ToTarget(0.98); ok {
		r := benchRow{Work: "time to 98 % test accuracy, wall, `train --train-eval running` (test set evaluated per epoch, as the peer)", Ours: wallS, Unit: "s", Target: "≤ 2 s and ≤ 0.3× PyTorch",
			Note: fmt.Sprintf("epoch %d; training alone %.2f s", epoch98, trainS)}
		r.Peer, _ = bench.Num(tt, "time_to_target_wall_s")
		add(r, func(x float64) bool { return x <= 0.3 && wallS <= 2 })
	}

	// 4-5. Inference with the 784-300-10 sigmoid MLP (torch_infer's mlp300sig).
	logf("digitnet: inference, batch 1 and 1000")
	rng := rand.New(rand.NewPCG(1, 1))
	sig, err := nn.MLP{Sizes: []int{784, 300, 10}, Activation: "sigmoid", Output: "softmax", Loss: "ce", Init: nn.InitGlorotUniform}.Build(rng)
	if err != nil {
		return err
	}
	lat, perSec := bench.Inference(sig, testSet, 2*time.Second)
	ti1 := peer("torch_infer.py", "--models", "mlp300sig", "--batches", "1", "--threads", "1")
	ti2 := peer("torch_infer.py", "--models", "mlp300sig", "--batches", "1000", "--threads", "2")
	r = benchRow{Work: "inference latency, MLP 784-300-10, batch 1", Ours: float64(lat.Nanoseconds()) / 1e3, Unit: "µs", Target: "≤ 10 µs"}
	if v, ok := firstResult(ti1, "latency_ms_median"); ok {
		r.Peer = v * 1000
	}
	add(r, nil)
	rows[len(rows)-1].Met = seen(r.Ours <= 10)
	r = benchRow{Work: "inference throughput, MLP 784-300-10, batch 1000", Ours: perSec, Unit: "img/s", Target: "≥ 2× PyTorch"}
	r.Peer, _ = firstResult(ti2, "images_per_s_median")
	add(r, func(x float64) bool { return x >= 2 })

	// 6. Loading MNIST.
	gz := ""
	if dir, err := (&dataset.GoModuleSource{Module: dataset.GoMNISTModule, Version: dataset.GoMNISTVersion}).Dir(ctx); err == nil {
		gz = filepath.Join(dir, "data")
	}
	r = benchRow{Work: "loading MNIST (cache: decompressed IDX, verified)", Ours: loadCache, Unit: "s", Target: "≤ 0.5× numpy"}
	r.Peer, _ = bench.Num(tt, "load_s")
	add(r, func(x float64) bool { return x <= 0.5 })
	if gz != "" {
		if s, err := loadSecs(dataset.Options{Dataset: "mnist", Dir: gz}); err == nil {
			r = benchRow{Work: "loading MNIST from the original .gz files", Ours: s, Unit: "s", Target: "(no target)"}
			r.Peer, _ = bench.Num(tt, "load_s")
			add(r, nil)
		}
	}

	// 7. Peak memory of the default training run.
	if exe, err := os.Executable(); err == nil {
		logf("digitnet: peak memory of `digitnet train`")
		if mib, err := bench.PeakRSS(ctx, exe, "train", "--progress", "none"); err == nil {
			r = benchRow{Work: "peak memory (RSS) of default training", Ours: mib, Unit: "MiB", Target: "≤ 0.8× PyTorch"}
			r.Peer, _ = bench.Num(tt, "maxrss_mb")
			add(r, func(x float64) bool { return x <= 0.8 })
		} else {
			logf("%v", err)
		}
	}

	// 8. PyTorch's example CNN, 150 steps of batch 64 with Adam (torch_cnn.py
	// --max-steps 150), both sides' step times extrapolated to a full epoch.
	if !*skipCNN {
		steps := 150
		exCfg := presets["default"]
		exCfg.Model = "examples"
		ex := exCfg.spec()
		useCores(ex, *threads)
		logf("digitnet: PyTorch's example CNN, 2 × %d steps of batch 64, Adam", steps)
		ep, err := bench.Training{Spec: &ex, Limit: steps * 64, Optimizer: "adam", LR: 1e-3, Batch: 64, Epochs: 2, Shuffle: true, Scale: 1.0 / 255, Seed: 1,
			RunningTrainAccuracy: true}.Run(ctx, m)
		if err != nil {
			return err
		}
		full := bench.Median(ep.Secs) * float64(trainSet.N) / float64(steps*64)
		r := benchRow{Work: "epoch, PyTorch's example CNN (conv 32, conv 64, dense 128), Adam, batch 64", Ours: full, Unit: "s", Target: "≤ 0.4× PyTorch",
			Note: fmt.Sprintf("%d steps timed, extrapolated; %.0f GFLOP/s counting a direct convolution's arithmetic (71.6 MFLOP an image, forward and backward; Winograd does fewer multiplications)", steps, 72e6*float64(steps*64)/bench.Median(ep.Secs)/1e9)}
		best := math.Inf(1) // PyTorch's faster setting of the two
		for _, th := range []string{"2", "1"} {
			tc := peer("torch_cnn.py", "--model", "examples", "--epochs", "2", "--max-steps", strconv.Itoa(steps), "--batch", "64", "--opt", "adam", "--lr", "1e-3", "--threads", th)
			if v, ok := bench.Num(tc, "median_epoch_s"); ok {
				best = min(best, v)
			}
		}
		if !math.IsInf(best, 1) {
			r.Peer = best
		}
		add(r, func(x float64) bool { return x <= 0.4 })

		// 9. Time to 99 % with the fastest recipe: --model cnn --epochs 3 --augment none.
		c := presets["default"]
		c.Model, c.Epochs = "cnn", 3
		cnn := c.spec()
		logf("digitnet: `train --model cnn --epochs 3 --augment none --train-eval running` until 99 %% test accuracy")
		ep, err = bench.Training{Spec: &cnn, Optimizer: c.Optimizer, LR: c.LR, Batch: c.Batch, Epochs: c.Epochs, Shuffle: true, Scale: 1.0 / 255, Seed: 1,
			Schedule: (&c).schedule(), RunningTrainAccuracy: true}.Run(ctx, m)
		if err != nil {
			return err
		}
		if trainS, wallS, epoch99, ok := ep.ToTarget(0.99); ok {
			rows = append(rows, benchRow{Work: "time to 99 % test accuracy, wall incl. test evaluation (`train --model cnn --epochs 3 --augment none --train-eval running`)", Ours: wallS, Unit: "s",
				Target: "≤ 30 s", Met: seen(wallS <= 30), Note: fmt.Sprintf("epoch %d; training alone %.1f s", epoch99, trainS)})
		} else {
			rows = append(rows, benchRow{Work: "time to 99 % test accuracy (`train --model cnn --epochs 3 --augment none`)", Unit: "s", Target: "≤ 30 s", Met: seen(false),
				Note: fmt.Sprintf("did not reach 99 %%: best %.4f", slicesMax(ep.Acc))})
		}
	}

	if *asJSON {
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "digitnet bench — %s, %d threads, %s, %s\n\n", kernels.Backend, *threads, cpuModel(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(stdout, "| work | digitnet | PyTorch | ratio | target | met | note |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		peerS, ratio, met := "–", "–", "–"
		if r.Peer > 0 {
			peerS = fmtNum(r.Peer) + " " + r.Unit
			ratio = fmt.Sprintf("%.3g×", r.Ratio)
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "no"}[*r.Met]
		}
		fmt.Fprintf(stdout, "| %s | %s %s | %s | %s | %s | %s | %s |\n", r.Work, fmtNum(r.Ours), r.Unit, peerS, ratio, r.Target, met, r.Note)
	}
	return nil
}

func firstResult(m map[string]any, key string) (float64, bool) {
	rs, ok := m["results"].([]any)
	if !ok || len(rs) == 0 {
		return 0, false
	}
	r, ok := rs[0].(map[string]any)
	if !ok {
		return 0, false
	}
	return bench.Num(r, key)
}

func fmtNum(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.Index(line, ":"); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return runtime.GOARCH
}
