package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/internal/pretrained"
	"github.com/digitnet/digitnet/internal/serve"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := serve.DefaultOptions
	path := fs.String("model", "", "model `FILE` written by train --out (default: the pretrained model digitnet ships), or FILE,FILE,… for an ensemble that averages their probabilities; SIGHUP reloads it")
	floor := fs.Float64("min-confidence", -1, "withhold answers less probable than this (\"low confidence\"); default: the model's calibrated floor")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on, host:port (\":8080\" for every interface)")
	maxBody := fs.Int64("max-body", d.MaxBodyBytes, "largest request body, in bytes (larger: 413)")
	maxPixels := fs.Int64("max-pixels", d.MaxPixels, "largest image, width×height, checked before decoding (larger: 422)")
	maxBatch := fs.Int("max-batch", d.MaxBatch, "most instances in one request")
	inFlight := fs.Int("max-inflight", d.MaxInFlight, "predictions running at once (decoding included); 2 per CPU by default")
	queue := fs.Duration("queue-timeout", d.QueueTimeout, "how long a request waits for a free prediction slot before 503")
	maxConns := fs.Int("max-conns", d.MaxConns, "connections open at once; beyond it the one waiting longest for a request is closed, or, if all are busy, the new one gets 503")
	reqTimeout := fs.Duration("request-timeout", d.RequestTimeout, "time for one request from its header to its answer (a body still arriving then: 408)")
	headerTimeout := fs.Duration("read-header-timeout", d.ReadHeaderTimeout, "time for a request's header to arrive")
	bodyMemory := fs.Int64("max-body-memory", d.MaxBodyMemory, "bytes of request bodies held in memory at once, over all requests (beyond: 503)")
	shutdown := fs.Duration("shutdown-timeout", d.ShutdownTimeout, "on SIGINT/SIGTERM, how long to let requests in flight finish")
	logJSON := fs.Bool("log-json", false, "write logs as JSON lines (default: key=value text)")
	verbose := fs.Bool("verbose", false, "log every request (debug level)")
	precision := precisionFlag(fs)
	weights := weightsFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: digitnet serve [--model M] [--addr 127.0.0.1:8080] [flags]

Serves predictions over HTTP, with a drawing page at / (everything is in the binary):

  POST /v1/predict  an image (Content-Type image/png, image/jpeg, image/gif), or JSON
                    {"pixels":[784 values 0..255, 0 = background]}, {"image":"data:image/png;base64,…"},
                    or {"instances":[…]} of either; add "return_input":true for the 28×28 input
  GET  /v1/model    the model's metadata
  GET  /healthz     liveness
  GET  /metrics     Prometheus metrics

--model a.dnm,b.dnm,c.dnm serves an ensemble: the answer is the mean of the
models' probabilities (each with its own input scaling), /v1/model lists the members.

SIGHUP reloads the model file(s) (a bad file keeps the current model); SIGINT or SIGTERM
stops accepting and finishes the requests in flight.

flags:`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *floor > 1 {
		return usageErr("--min-confidence %g: want at most 1 (or negative: the model's own floor)", *floor)
	}
	if err := checkPrecision(*precision); err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		ok   bool
	}{
		{"max-body", *maxBody > 0}, {"max-pixels", *maxPixels > 0}, {"max-batch", *maxBatch > 0},
		{"max-inflight", *inFlight > 0}, {"queue-timeout", *queue > 0}, {"shutdown-timeout", *shutdown > 0},
		{"max-conns", *maxConns > 0}, {"request-timeout", *reqTimeout > 0}, {"read-header-timeout", *headerTimeout > 0},
		{"max-body-memory", *bodyMemory > 0},
	} {
		if !v.ok {
			return usageErr("--%s %s: want a positive value", v.name, fs.Lookup(v.name).Value)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if *logJSON {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(h)

	serve.SingleThreadedProducts()
	loader, name := serve.Files(strings.Split(*path, ",")...), filepath.Base(*path)
	if *path == "" {
		loader, name = pretrained.Ensemble, pretrained.Name
	}
	if *weights != "" {
		load := loader // a reload weighs the new files the same way
		loader = func() (*model.Ensemble, error) {
			ens, err := load()
			if err != nil {
				return nil, err
			}
			return ens, setWeights(ens, *weights)
		}
	}
	if *precision == "int8" && int8Ready(stderr) {
		// Calibrated on the model's training data, read again only when a reload brings
		// a model of another data set; a reload re-quantizes the new weights.
		load, calib, calibSet := loader, []uint8(nil), ""
		loader = func() (*model.Ensemble, error) {
			ens, err := load()
			if err != nil {
				return nil, err
			}
			if set := ens.Models[0].Dataset; calib == nil || set != calibSet {
				if calib, err = calibration(ctx, set, stderr); err != nil {
					return nil, err
				}
				calibSet = set
			}
			return ens.Quantized(calib, len(calib)/ens.Models[0].Arch.InputSize())
		}
	}
	var minConf *float64
	if *floor >= 0 {
		minConf = floor
	}
	s, err := serve.New(loader, serve.Options{MinConfidence: minConf,
		MaxBodyBytes: *maxBody, MaxPixels: *maxPixels, MaxBatch: *maxBatch,
		MaxInFlight: *inFlight, QueueTimeout: *queue, ShutdownTimeout: *shutdown, Logger: log,
		MaxConns: *maxConns, RequestTimeout: *reqTimeout, ReadHeaderTimeout: *headerTimeout, MaxBodyMemory: *bodyMemory,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// SIGHUP reloads the model; registered before the URL is printed, so whoever waits
	// for the URL may signal.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				s.Reload() // logs the outcome; a bad file keeps the current model
			case <-ctx.Done():
				return
			}
		}
	}()
	url := serveURL(ln.Addr())
	log.Info("listening", "url", url, "addr", ln.Addr().String(), "max_inflight", *inFlight, "max_conns", *maxConns,
		"timeouts", fmt.Sprintf("header %v, request %v, idle %v", *headerTimeout, *reqTimeout, d.IdleTimeout))
	fmt.Fprintf(stdout, "digitnet serve: %s on %s (Ctrl-C stops, SIGHUP reloads the model)\n", name, url)
	start := time.Now()
	err = s.Serve(ctx, ln)
	log.Info("stopped", "uptime", time.Since(start).Round(time.Millisecond))
	return err
}

// serveURL is the address to open in a browser: an unspecified host (every interface)
// is reached as localhost.
func serveURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
