// Package serve answers digit predictions over HTTP and serves a drawing page.
//
// Routes (Go 1.22 method patterns):
//
//	POST /v1/predict  an image (Content-Type image/png, image/jpeg or image/gif) or JSON
//	                  (application/json): {"pixels":[784 numbers]}, {"image":"data:image/png;base64,…"}
//	                  or {"instances":[…]} of either; see request.go for the exact rules
//	GET  /v1/model    the model's metadata
//	GET  /healthz     {"status":"ok",…}
//	GET  /metrics     Prometheus text format, from a registry of the server's own
//	GET  /            the drawing page (web/, embedded), its assets under /static/
//
// Every error is JSON, {"error":"…"}, with a 4xx status saying whose fault it is: 400
// malformed, 404 unknown route, 405 wrong method (with Allow), 408 body not received
// within the request timeout, 413 body too large, 415 wrong Content-Type, 422
// well-formed but unusable (wrong pixel count, a value outside 0..255, a blank image, an
// image of 0×0 or too many pixels), 503 busy (with Retry-After).
//
// Slow and hostile clients: a request's header must arrive within ReadHeaderTimeout, and
// the whole request (body, queue, prediction, answer) gets RequestTimeout. At most
// MaxConns connections are open; a new one beyond that closes the connection that has
// waited longest for a request (slowloris, idle keep-alive), or, when every connection
// is busy, is answered 503 and closed (conns.go). Request bodies held in memory at once
// are bounded by MaxBodyMemory (503 beyond it). Nothing waits in an unbounded queue.
//
// Images go through digit.Decode and digit.Preprocess, as in `digitnet predict`, so the
// server sees what the command line sees. Concurrency: at most Options.MaxInFlight
// predictions run at once (decoding and preprocessing included); a request beyond that
// waits Options.QueueTimeout for a slot, then gets 503. Each running prediction uses a
// network replica of its own (an nn.Network is not safe for concurrent use) from a pool
// that belongs to the loaded model; Reload swaps model and pool in one atomic store.
package serve

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
)

//go:embed web
var webFS embed.FS

// indexHTML is the drawing page.
var indexHTML = func() []byte {
	b, err := webFS.ReadFile("web/index.html")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return b
}()

// Pixels is the input size the server accepts: a 28×28 image.
const Pixels = digit.Size * digit.Size

// Options bounds what the server accepts and how long it waits. A zero (or negative)
// field means its default, listed in DefaultOptions.
type Options struct {
	// MaxBodyBytes is the largest request body; a larger one gets 413.
	MaxBodyBytes int64
	// MaxPixels is the largest width×height of an image, checked on its header before
	// any pixel is decoded; a larger one gets 422.
	MaxPixels int64
	// MaxBatch is the most instances in one request.
	MaxBatch int
	// MaxInFlight is how many predictions run at once; QueueTimeout is how long a request
	// waits for one of those slots before it gets 503.
	MaxInFlight  int
	QueueTimeout time.Duration
	// MaxConns is how many connections may be open at once (Serve).
	MaxConns int
	// RequestTimeout bounds one request from its header to its answer: a body still
	// arriving then gets 408, a request still waiting for a slot 503.
	RequestTimeout time.Duration
	// MaxBodyMemory bounds the bytes of request bodies held in memory at once, over all
	// requests; a request that would pass it gets 503.
	MaxBodyMemory int64
	// The http.Server's timeouts (Serve), and how long Serve's shutdown waits for
	// requests in flight before it closes their connections.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	ShutdownTimeout                                           time.Duration
	// MinConfidence, when set, overrides the model's confidence floor: answers below it
	// are withheld as "low confidence" (0 always answers).
	MinConfidence *float64
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultOptions are the values zero fields of Options take.
var DefaultOptions = Options{
	MaxBodyBytes:      8 << 20,
	MaxPixels:         25_000_000, // a 5000×5000 image; a 12-megapixel phone photo fits
	MaxBatch:          256,
	MaxInFlight:       2 * runtime.GOMAXPROCS(0),
	QueueTimeout:      250 * time.Millisecond,
	MaxConns:          4096,
	RequestTimeout:    10 * time.Second,
	MaxBodyMemory:     256 << 20,
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       120 * time.Second,
	ShutdownTimeout:   15 * time.Second,
}

func (o Options) withDefaults() Options {
	d := DefaultOptions
	o.MaxBodyBytes = orDefault(o.MaxBodyBytes, d.MaxBodyBytes)
	o.MaxPixels = orDefault(o.MaxPixels, d.MaxPixels)
	o.MaxBatch = orDefault(o.MaxBatch, d.MaxBatch)
	o.MaxInFlight = orDefault(o.MaxInFlight, d.MaxInFlight)
	o.QueueTimeout = orDefault(o.QueueTimeout, d.QueueTimeout)
	o.MaxConns = orDefault(o.MaxConns, d.MaxConns)
	o.RequestTimeout = orDefault(o.RequestTimeout, d.RequestTimeout)
	o.MaxBodyMemory = orDefault(o.MaxBodyMemory, d.MaxBodyMemory)
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, d.ReadHeaderTimeout)
	o.ReadTimeout = orDefault(o.ReadTimeout, d.ReadTimeout)
	o.WriteTimeout = orDefault(o.WriteTimeout, d.WriteTimeout)
	o.IdleTimeout = orDefault(o.IdleTimeout, d.IdleTimeout)
	o.ShutdownTimeout = orDefault(o.ShutdownTimeout, d.ShutdownTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Server is the HTTP service. It is an http.Handler; Serve runs it on a listener.
type Server struct {
	opt     Options
	log     *slog.Logger
	cur     atomic.Pointer[loaded] // the model requests use; swapped whole by Reload
	reload  sync.Mutex             // one Reload at a time
	loader  Loader
	slots   chan struct{} // a token per running prediction
	conns   *conns        // the open connections (Serve)
	bodies  budget        // bytes of request bodies in memory
	mux     *http.ServeMux
	metrics *metrics
	jobs    sync.Pool // *job
	started time.Time
}

// loaded is a model with everything derived from it. It is immutable once published,
// except for the pool of workers that its own requests take and give back.
type loaded struct {
	m        *model.Model    // the (first) member: classes, input, architecture
	ens      *model.Ensemble // every member; one for a single model file
	path     string
	name     string // the files' base names, comma-separated: the "model" of every answer
	nameJSON []byte // name as a JSON string
	// classJSON[k] is `,"class":"<name>"` when class k's name is not simply "k".
	classJSON [][]byte
	workers   chan *worker
	info      []byte // the /v1/model answer
	counts    []counter
	loadedAt  time.Time
	floor     float64 // answers less confident than this are withheld
}

// worker is one concurrent prediction's replica of the members and pixel buffer.
type worker struct {
	ens    *model.Ensemble
	pixels []uint8 // N·784, the request's images after preprocessing
}

// Loader loads the model to serve, at New and at every Reload: one model, or several
// averaged as an ensemble. Files loads model files.
type Loader func() (*model.Ensemble, error)

// Files is a Loader of the model files at paths (several: an ensemble).
func Files(paths ...string) Loader {
	return func() (*model.Ensemble, error) { return model.LoadEnsemble(paths) }
}

// New loads the model and returns a server for it.
func New(load Loader, opt Options) (*Server, error) {
	opt = opt.withDefaults()
	s := &Server{opt: opt, log: opt.Logger, slots: make(chan struct{}, opt.MaxInFlight), started: time.Now(),
		conns: newConns(opt.MaxConns), bodies: budget{max: opt.MaxBodyMemory}}
	s.metrics = newMetrics(s)
	s.jobs.New = func() any { return new(job) }
	s.loader = load
	st, err := s.load()
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	s.metrics.setModel(st)
	s.routes()
	s.log.Info("model loaded", "file", st.path, "arch", st.m.Arch.Summary(), "test_accuracy", st.m.Training.TestAccuracy)
	return s, nil
}

// Reload loads the model again and, if it is valid, makes it the one every new request
// uses; requests already running finish on the old one. A bad file changes nothing: the
// old model stays, and the error is logged and returned. SIGHUP calls it.
func (s *Server) Reload() error {
	s.reload.Lock()
	defer s.reload.Unlock()
	st, err := s.load()
	if err != nil {
		s.metrics.reloads.WithLabelValues("error").Inc()
		s.log.Error("model reload failed; keeping the current model", "current", s.cur.Load().path, "err", err)
		return err
	}
	old := s.cur.Swap(st)
	s.metrics.setModel(st)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.log.Info("model reloaded", "file", st.path, "previous", old.path, "arch", st.m.Arch.Summary(), "test_accuracy", st.m.Training.TestAccuracy)
	return nil
}

// ModelPath is the file the current model was loaded from.
func (s *Server) ModelPath() string { return s.cur.Load().path }

// load loads the model and builds what requests need: the replica pool, the metadata
// answer and the per-class counters.
func (s *Server) load() (*loaded, error) {
	ens, err := s.loader()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ens.Models))
	for i, m := range ens.Models {
		if in := m.Arch.InputSize(); in != Pixels {
			return nil, fmt.Errorf("serve: model %s takes %d inputs, not a 28×28 image (%d)", ens.Names[i], in, Pixels)
		}
		names[i] = filepath.Base(ens.Names[i])
	}
	path := strings.Join(ens.Names, ",")
	m := ens.Models[0]
	st := &loaded{m: m, ens: ens, path: path, name: strings.Join(names, ","), loadedAt: time.Now().UTC(), floor: ens.MinConfidence()}
	if s.opt.MinConfidence != nil {
		st.floor = *s.opt.MinConfidence
	}
	st.nameJSON, _ = json.Marshal(st.name)
	st.workers = make(chan *worker, s.opt.MaxInFlight)
	for range s.opt.MaxInFlight {
		r, err := ens.Replica()
		if err != nil {
			return nil, fmt.Errorf("serve: model %s: %w", path, err)
		}
		st.workers <- &worker{ens: r, pixels: make([]uint8, Pixels)}
	}
	st.classJSON = make([][]byte, len(m.Classes))
	for k, c := range m.Classes {
		if c != strconv.Itoa(k) {
			q, _ := json.Marshal(c)
			st.classJSON[k] = append([]byte(`,"class":`), q...)
		}
	}
	st.counts = s.metrics.classCounters(m.Classes)
	var info bytes.Buffer
	enc := json.NewEncoder(&info)
	enc.SetEscapeHTML(false) // the layer list has arrows: Dense(784->300)
	if err := enc.Encode(modelInfo(st)); err != nil {
		return nil, fmt.Errorf("serve: model %s metadata: %w", path, err)
	}
	st.info = info.Bytes()
	return st, nil
}

// modelInfo is the /v1/model answer.
func modelInfo(st *loaded) any {
	m := st.m
	type member struct {
		File         string  `json:"file"`
		Summary      string  `json:"summary"`
		Parameters   int     `json:"parameters"`
		TestAccuracy float64 `json:"test_accuracy"`
	}
	var members []member
	if len(st.ens.Models) > 1 {
		for i, mm := range st.ens.Models {
			members = append(members, member{File: filepath.Base(st.ens.Names[i]), Summary: mm.Arch.Summary(),
				Parameters: mm.Net.ParamCount(), TestAccuracy: mm.Training.TestAccuracy})
		}
	}
	type input struct {
		Width    int     `json:"width"`
		Height   int     `json:"height"`
		Scale    float32 `json:"scale"`
		Offset   float32 `json:"offset"`
		Pixels   string  `json:"pixels"`
		Formula  string  `json:"formula"`
		Accepted string  `json:"accepted_images"`
	}
	return struct {
		File         string        `json:"file"`
		Architecture nn.Spec       `json:"architecture"`
		Summary      string        `json:"summary"`
		Layers       string        `json:"layers"`
		Parameters   int           `json:"parameters"`
		Classes      []string      `json:"classes"`
		Dataset      string        `json:"dataset"`
		Input        input         `json:"input"`
		Training     model.Summary `json:"training"`
		LoadedAt     string        `json:"loaded_at"`
		Precision    string        `json:"precision"`         // the products' arithmetic: fp32, or int8 (serve --precision int8)
		Members      []member      `json:"members,omitempty"` // an ensemble's models, whose probabilities are averaged
	}{
		File: st.name, Precision: precisionOf(m.Net), Architecture: m.Arch, Summary: m.Arch.Summary(), Layers: m.Net.String(), Parameters: st.ens.Parameters(),
		Members: members,
		Classes: m.Classes, Dataset: m.Dataset, Training: m.Training,
		LoadedAt: st.loadedAt.Format(time.RFC3339),
		Input: input{Width: digit.Size, Height: digit.Size, Scale: m.Input.Scale, Offset: m.Input.Offset,
			Pixels:   "784 values, row-major, 0 = background .. 255 = ink (MNIST polarity: white digit on black)",
			Formula:  "network input = scale * pixel + offset",
			Accepted: "PNG, JPEG or GIF of any polarity, preprocessed like `digitnet predict` (cropped, scaled to a 20x20 box, centred by mass in 28x28)"},
	}
}

// SingleThreadedProducts makes each matrix product run on the calling goroutine's
// thread (cgo backend: OpenBLAS or oneDNN; the pure-Go backend has no threads of its
// own). A server already runs requests in parallel, one per core: product threads
// would only compete with them (and OpenBLAS's spin after each product). It sets a process-wide setting, so
// the command calls it, not New.
func SingleThreadedProducts() {
	if kernels.Backend == "openblas" {
		kernels.SetThreads(1)
	}
}

// routes registers the handlers. Each is wrapped to count and time it under its pattern.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.metrics.instrument(pattern, h)) }
	handle("POST /v1/predict", s.handlePredict)
	handle("POST /v1/read", s.handleRead)
	handle("GET /v1/model", s.handleModel)
	handle("GET /healthz", s.handleHealth)
	handle("GET /metrics", s.metrics.handler().ServeHTTP)
	handle("GET /{$}", s.handleIndex)
	handle("GET /static/", s.handleStatic)
}

// routeList names the routes in 404 answers.
var routeList = []string{"GET /", "POST /v1/predict", "POST /v1/read", "GET /v1/model", "GET /healthz", "GET /metrics"}

// ServeHTTP routes a request. A request no route matches gets the mux's 404 or 405 (with
// its Allow header), rewritten as a JSON error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if nc, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		s.conns.busy(nc)
		defer s.conns.done(nc)
	}
	// The request's deadline: for reading its body, waiting for a slot and predicting.
	// The answer may take a moment longer to write, so that a late request still hears
	// why it failed.
	deadline := time.Now().Add(s.opt.RequestTimeout)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline.Add(time.Second))
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	r = r.WithContext(ctx)
	if _, pattern := s.mux.Handler(r); pattern == "" {
		start := time.Now()
		ew := &muxErrorWriter{ResponseWriter: w, r: r}
		s.mux.ServeHTTP(ew, r)
		s.metrics.observe("unmatched", ew.code, start)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// muxErrorWriter turns the mux's plain-text 404 and 405 answers into JSON errors.
type muxErrorWriter struct {
	http.ResponseWriter
	r     *http.Request
	code  int
	wrote bool
}

func (w *muxErrorWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.code, w.wrote = code, true
	var msg string
	switch code {
	case http.StatusMethodNotAllowed:
		msg = fmt.Sprintf("method %s not allowed on %s; allowed: %s", w.r.Method, w.r.URL.Path, w.Header().Get("Allow"))
	case http.StatusNotFound:
		msg = fmt.Sprintf("no route for %s %s; routes: %s", w.r.Method, w.r.URL.Path, joinRoutes())
	default:
		msg = http.StatusText(code)
	}
	writeError(w.ResponseWriter, &apiError{code, msg})
}

func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return len(b), nil // the mux's plain-text body is replaced by WriteHeader's
}

func joinRoutes() string { return strings.Join(routeList, ", ") }

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Everything the page uses comes from this server; nothing else may be loaded.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(indexHTML)
}

// handleStatic serves the page's assets from the embedded web directory.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := "web/" + strings.TrimPrefix(r.URL.Path, "/static/")
	if fi, err := fs.Stat(webFS, name); err != nil || fi.IsDir() || name == "web/index.html" {
		writeError(w, errorf(http.StatusNotFound, "no file %s", r.URL.Path))
		return
	}
	http.ServeFileFS(w, r, webFS, name)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	st := s.cur.Load()
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "model": st.name, "uptime_seconds": time.Since(s.started).Seconds(),
		"in_flight": len(s.slots), "max_in_flight": cap(s.slots),
		"connections": s.conns.count(), "max_connections": s.opt.MaxConns,
	})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = jsonType
	w.Write(s.cur.Load().info)
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to Options.ShutdownTimeout, then closes
// their connections) and returns. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ConnState:         s.conns.connState,
		ConnContext:       withConn,
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		ReadTimeout:       s.opt.ReadTimeout,
		WriteTimeout:      s.opt.WriteTimeout,
		IdleTimeout:       s.opt.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(listener{ln, s.conns}) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing requests in flight", "timeout", s.opt.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.ShutdownTimeout)
	defer cancel()
	go s.conns.closeWaiting() // no request of theirs has begun: nothing to finish
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		hs.Close()
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	s.log.Info("shut down")
	return nil
}

// apiError is an error answer: a status and what was wrong.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, a ...any) *apiError {
	return &apiError{status, fmt.Sprintf(format, a...)}
}

var jsonType = []string{"application/json"}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h.Del("Content-Length")
	if e.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{e.msg})
	w.WriteHeader(e.status)
	w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "serve: encoding the answer: %v", err))
		return
	}
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// precisionOf names the arithmetic of net's products: int8 once quantized, else fp32.
func precisionOf(net *nn.Network) string {
	if net.Quantized() {
		return "int8"
	}
	return "fp32"
}
