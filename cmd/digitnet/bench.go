package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/digitnet/digitnet/internal/bench"
	"github.com/digitnet/digitnet/internal/kernels"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.TableOptions
	fs.StringVar(&o.PeersDir, "peers", "", "directory of the PyTorch peer scripts (default: $DIGITNET_PEERS, then ../shared/peers)")
	fs.BoolVar(&o.NoPeers, "no-peers", false, "measure digitnet only")
	fs.BoolVar(&o.SkipSeed, "skip-seed", false, "skip the batch-1 seed epoch (PyTorch takes ~30 s for it)")
	fs.BoolVar(&o.SkipCNN, "skip-cnn", false, "skip the CNN rows (about 2 minutes with PyTorch)")
	asJSON := fs.Bool("json", false, "print the rows as JSON")
	fs.IntVar(&o.Threads, "threads", runtime.GOMAXPROCS(0), "threads for digitnet's matrix products")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.Log = stderr
	if exe, err := os.Executable(); err == nil {
		o.Exe = exe // for the peak memory of `digitnet train`
	}
	rows, err := bench.Table(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "digitnet bench — %s (products by %s), %d threads, %s, %s\n\n", kernels.Backend, kernels.Products(), o.Threads, cpuModel(), time.Now().UTC().Format("2006-01-02"))
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
