package serve

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	loadDuration = flag.Duration("load.duration", 0, "TestLoad: measure each case for this long (e.g. 5s); 0 is a short smoke run that only checks for errors")
	loadWorkers  = flag.Int("load.workers", 4, "TestLoad: concurrent client workers, each with its own keep-alive connection (4: the server's default MaxInFlight on 2 cores)")
)

// loadResult is what one case of TestLoad measured.
type loadResult struct {
	requests, errors int
	elapsed          time.Duration
	p50, p99, max    time.Duration
	firstError       string
}

// TestLoad runs a bounded load test on loopback: a real server (Serve on 127.0.0.1:0)
// and, in the same process, a Go client with a fixed number of workers sending the same
// request over keep-alive connections for a fixed time. It reports requests/s,
// predictions/s and latency percentiles; it fails only on errors, never on timing.
//
//	go test -run TestLoad -v -count=1 ./internal/serve -args -load.duration=5s
//
// Without -load.duration it is a 200 ms smoke run per case (part of `go test ./...`).
func TestLoad(t *testing.T) {
	d := *loadDuration
	if d == 0 {
		d = 200 * time.Millisecond
	}
	workers := *loadWorkers
	SingleThreadedProducts() // as `digitnet serve` does
	path := trainedModel(t)
	s := newServer(t, path, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/v1/predict"

	batch := make([]string, 32)
	for i := range batch {
		batch[i] = string(pixelsJSON(mnistTest.Image(i)))
	}
	cases := []struct {
		name, contentType string
		body              []byte
		perRequest        int // predictions per request
	}{
		{"JSON pixels (784 numbers)", "application/json", pixelsJSON(mnistTest.Image(0)), 1},
		{"JSON batch of 32 pixel arrays", "application/json", []byte(`{"instances":[` + strings.Join(batch, ",") + `]}`), 32},
		{"PNG 28×28 (an MNIST digit)", "image/png", mnistPNG(t, 0), 1},
		{"PNG 160×160 (what the page sends)", "image/png", pngOf(t, drawDigit(7, 160, 7)), 1},
	}
	t.Logf("loopback load test: %d workers, %v per case, GOMAXPROCS %d, model %s", workers, d, runtime.GOMAXPROCS(0), s.ModelPath())
	var table strings.Builder
	table.WriteString("| request | body | requests/s | predictions/s | p50 | p99 | max | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range cases {
		r := runLoad(url, c.contentType, c.body, workers, d)
		rps := float64(r.requests) / r.elapsed.Seconds()
		fmt.Fprintf(&table, "| %s | %d B | %.0f | %.0f | %s | %s | %s | %d |\n",
			c.name, len(c.body), rps, rps*float64(c.perRequest), ms(r.p50), ms(r.p99), ms(r.max), r.errors)
		if r.errors > 0 {
			t.Errorf("%s: %d of %d requests failed; first: %s", c.name, r.errors, r.requests, r.firstError)
		}
		if r.requests == 0 {
			t.Errorf("%s: no request completed", c.name)
		}
	}
	t.Logf("results:\n%s", table.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", d.Seconds()*1000) }

// minMeasured is the fewest requests each worker of runLoad measures, however long they
// take: on a loaded machine a request can outlast the whole run (a run that measured
// nothing once failed "no request completed" under the stress check).
const minMeasured = 3

// runLoad sends body to url from workers goroutines for d (after a short warm-up that
// opens the connections), and on until each has measured minMeasured requests; it
// measures each request's latency, response read included.
func runLoad(url, contentType string, body []byte, workers int, d time.Duration) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr} // no timeout: a slow answer is measured, not failed
	var (
		mu    sync.Mutex
		res   loadResult
		lats  []time.Duration
		wg    sync.WaitGroup
		start = time.Now()
	)
	warm := start.Add(min(d/5, 500*time.Millisecond))
	end := warm.Add(d)
	buf := make([]byte, 64<<10)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<16)
			var n, errs int
			first := ""
			rbuf := slices.Clone(buf)
			for {
				t0 := time.Now()
				if t0.After(end) && n >= minMeasured {
					break
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", contentType)
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					for {
						if _, rerr := resp.Body.Read(rbuf); rerr != nil {
							break
						}
					}
					resp.Body.Close()
				}
				if t0.Before(warm) {
					continue
				}
				n++
				mine = append(mine, time.Since(t0))
				if !ok {
					errs++
					if first == "" {
						if err != nil {
							first = err.Error()
						} else {
							first = resp.Status
						}
					}
				}
			}
			mu.Lock()
			res.requests += n
			res.errors += errs
			if res.firstError == "" {
				res.firstError = first
			}
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(warm)
	if len(lats) > 0 {
		slices.Sort(lats)
		res.p50 = lats[len(lats)/2]
		res.p99 = lats[len(lats)*99/100]
		res.max = lats[len(lats)-1]
	}
	return res
}

// BenchmarkPredict measures the handler alone (no network, no client): the server's
// own cost per request, for profiling:
//
//	go test -run x -bench Predict -benchmem -cpuprofile cpu.prof ./internal/serve
func BenchmarkPredict(b *testing.B) {
	s := newServer(b, trainedModel(b), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	batch := make([]string, 32)
	for i := range batch {
		batch[i] = string(pixelsJSON(mnistTest.Image(i)))
	}
	cases := []struct {
		name, contentType string
		body              []byte
	}{
		{"json-pixels", "application/json", pixelsJSON(mnistTest.Image(0))},
		{"json-batch32", "application/json", []byte(`{"instances":[` + strings.Join(batch, ",") + `]}`)},
		{"png-28", "image/png", mnistPNG(b, 0)},
		{"png-160", "image/png", pngOf(b, drawDigit(7, 160, 7))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r, _ := http.NewRequest("POST", "/v1/predict", nil)
			r.Header.Set("Content-Type", c.contentType)
			w := &discardWriter{h: http.Header{}}
			rd := bytes.NewReader(c.body)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(c.body)
				r.Body, r.ContentLength = io.NopCloser(rd), int64(len(c.body))
				w.code = 0
				s.ServeHTTP(w, r)
				if w.code != 0 && w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
