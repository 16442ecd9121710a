package serve

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// counter is one pre-resolved series of a counter vector.
type counter = prometheus.Counter

// metrics are the server's Prometheus series, in a registry of its own (two servers in
// one process, as in tests, do not collide):
//
//	digitnet_http_requests_total{route,code}            requests answered
//	digitnet_http_request_duration_seconds{route}       latency histogram
//	digitnet_predictions_total{class}                   predictions by predicted class
//	digitnet_predict_in_flight                          predictions running now
//	digitnet_predict_rejected_total                     requests turned away busy (503)
//	digitnet_connections_open                           connections open now
//	digitnet_connections_evicted_total                  waiting connections closed to admit new ones
//	digitnet_connections_shed_total                     connections answered 503 at accept (all busy)
//	digitnet_model_reloads_total{result}                Reload calls, result ok or error
//	digitnet_reads_total{result}                        numbers read: read, unsure, none
//	digitnet_model_info{file,arch}                      1 for the model being served
//
// plus the Go runtime and process collectors. route is the matched pattern, e.g.
// "POST /v1/predict", or "unmatched" (never the raw path, which a client chooses).
type metrics struct {
	log         *slog.Logger // access log, at debug level
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	predictions *prometheus.CounterVec
	rejected    prometheus.Counter
	reads       *prometheus.CounterVec
	evicted     prometheus.Counter
	shed        prometheus.Counter
	reloads     *prometheus.CounterVec
	modelInfo   *prometheus.GaugeVec
	writers     sync.Pool // *statusWriter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		log: s.log,
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digitnet_http_requests_total", Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "digitnet_http_request_duration_seconds", Help: "Time from a request's routing to its answer, by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digitnet_predictions_total", Help: "Predictions made, by predicted class.",
		}, []string{"class"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digitnet_reads_total", Help: "Numbers read (POST /v1/read), by result: read (every digit sure), unsure (some digit marked), none (no digits).",
		}, []string{"result"}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digitnet_predict_rejected_total", Help: "Prediction requests answered 503 because every slot stayed busy.",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digitnet_connections_evicted_total", Help: "Connections waiting for a request (slow header, idle keep-alive) closed to admit a new one at the connection limit.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digitnet_connections_shed_total", Help: "Connections answered 503 and closed at accept because every open connection was busy.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digitnet_model_reloads_total", Help: "Model reloads (SIGHUP), by result: ok, or error (the old model kept).",
		}, []string{"result"}),
		modelInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "digitnet_model_info", Help: "1 for the model being served.",
		}, []string{"file", "arch"}),
	}
	m.writers.New = func() any { return new(statusWriter) }
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "digitnet_predict_in_flight", Help: "Predictions running now (decoding and preprocessing included).",
	}, func() float64 { return float64(len(s.slots)) })
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "digitnet_connections_open", Help: "Connections open now.",
	}, func() float64 { return float64(s.conns.count()) })
	s.conns.onEvict, s.conns.onShed = m.evicted.Inc, m.shed.Inc
	m.reg.MustRegister(m.requests, m.duration, m.predictions, m.rejected, m.reads, m.evicted, m.shed, m.reloads, m.modelInfo, inFlight, open,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{"ok", "error"} {
		m.reloads.WithLabelValues(r) // present from the start, at 0
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// classCounters resolves the prediction counter of each class once per model.
func (m *metrics) classCounters(classes []string) []counter {
	cs := make([]counter, len(classes))
	for k, c := range classes {
		cs[k] = m.predictions.WithLabelValues(c)
	}
	return cs
}

func (m *metrics) setModel(st *loaded) {
	m.modelInfo.Reset()
	m.modelInfo.WithLabelValues(st.name, st.m.Arch.Summary()).Set(1)
}

// instrument wraps a route's handler to count its answers by status and time them.
func (m *metrics) instrument(route string, h http.HandlerFunc) http.Handler {
	latency := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := m.writers.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w}
		h(sw, r)
		code := sw.code
		*sw = statusWriter{}
		m.writers.Put(sw)
		if code == 0 {
			code = http.StatusOK
		}
		elapsed := time.Since(start)
		latency.Observe(elapsed.Seconds())
		m.requests.WithLabelValues(route, codeString(code)).Inc()
		if m.log.Enabled(r.Context(), slog.LevelDebug) {
			m.log.Debug("request", "method", r.Method, "path", r.URL.Path, "route", route, "code", code,
				"duration", elapsed, "remote", r.RemoteAddr)
		}
	})
}

// observe records a request that matched no route.
func (m *metrics) observe(route string, code int, start time.Time) {
	m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	m.requests.WithLabelValues(route, codeString(code)).Inc()
}

// codeString avoids strconv's allocation for the common codes.
func codeString(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 404:
		return "404"
	case 413:
		return "413"
	case 415:
		return "415"
	case 422:
		return "422"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// statusWriter records the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
