package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
)

// keepBuffer is the largest buffer a pooled job keeps between requests.
const keepBuffer = 1 << 20

// handlePredict answers POST /v1/predict:
//
//	{"digit":7,"confidence":0.99,"probabilities":[…],"model":"m.safetensors"}                  one image
//	{"predictions":[{"digit":7,"confidence":0.99,"probabilities":[…]},…],"model":"m.safetensors"} a batch
//
// An answer the model withholds has "digit":null and a "reason" (model.Reason…):
// "no ink" (a blank page; no probabilities then), "more than one digit" or "low
// confidence", with "guess", the most probable class, beside the probabilities.
//
// with "class" next to "digit" when the class's name is not the digit itself (Fashion-
// MNIST), and "input" (784 bytes, what the network saw) when the request asked for it
// with "return_input":true, or with ?return_input=true on an image body.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) { s.answer(w, r, false) }

// handleRead answers POST /v1/read, an image body or {"image":"data:…"}, with the
// number read in it, as `digitnet read --json` prints it:
//
//	{"text":"2026","confidence":0.97,"digits":[{"digit":2,"confidence":0.99,"box":[x,y,w,h]},…],"model":"…"}
//
// "text" is null with a "reason" when there are no digits; a digit the model is unsure
// of has "unsure":true and is "?" in the text. Limits and errors are /v1/predict's.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) { s.answer(w, r, true) }

func (s *Server) answer(w http.ResponseWriter, r *http.Request, read bool) {
	j := s.jobs.Get().(*job)
	defer func() {
		j.reset(keepBuffer)
		s.jobs.Put(j)
	}()
	j.read = read
	if err := s.predict(w, r, j); err != nil {
		s.logRejected(r, err)
		writeError(w, err)
		return
	}
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = []string{strconv.Itoa(len(j.out))}
	w.Write(j.out)
}

func (s *Server) logRejected(r *http.Request, err *apiError) {
	switch {
	case err.status >= 500 && err.status != http.StatusServiceUnavailable:
		s.log.Error("predict failed", "status", err.status, "err", err.msg, "remote", r.RemoteAddr)
	case err.status == http.StatusServiceUnavailable:
		s.log.Warn("predict rejected", "status", err.status, "err", err.msg, "remote", r.RemoteAddr)
	default:
		s.log.Info("bad predict request", "status", err.status, "err", err.msg, "remote", r.RemoteAddr,
			"content_type", r.Header.Get("Content-Type"), "content_length", r.ContentLength)
	}
}

// body kinds
const (
	kindJSON = iota + 1
	kindImage
)

func (s *Server) predict(w http.ResponseWriter, r *http.Request, j *job) *apiError {
	kind, aerr := contentKind(r.Header["Content-Type"])
	if aerr != nil {
		return aerr
	}
	max := s.opt.MaxBodyBytes
	if r.ContentLength > max {
		return errorf(http.StatusRequestEntityTooLarge, "request body of %d bytes is larger than the limit, %d bytes", r.ContentLength, max)
	}
	var err error
	var held int64 // bytes of s.bodies this request holds
	defer func() { s.bodies.give(held) }()
	grow := func(n int64) bool {
		if !s.bodies.take(n) {
			return false
		}
		held += n
		return true
	}
	j.body, err = readBody(http.MaxBytesReader(w, r.Body, max), j.body[:0], r.ContentLength, grow)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return errorf(http.StatusRequestEntityTooLarge, "request body larger than the limit, %d bytes", max)
		case errors.Is(err, errBodyMemory):
			s.metrics.rejected.Inc()
			return errorf(http.StatusServiceUnavailable, "server busy: request bodies in memory reached the limit, %d bytes; retry shortly", s.opt.MaxBodyMemory)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return errorf(http.StatusRequestTimeout, "the request body did not arrive within the request timeout, %v", s.opt.RequestTimeout)
		}
		return errorf(http.StatusBadRequest, "reading the request body: %v", err)
	}
	if kind == kindJSON {
		if aerr := j.parseJSON(j.body, s.opt.MaxBatch); aerr != nil {
			return aerr
		}
	} else {
		if len(j.body) == 0 {
			return errorf(http.StatusBadRequest, "empty body: want the bytes of a PNG, JPEG or GIF image")
		}
		in := j.next()
		in.hasImage, in.image = true, j.body
		if r.URL.RawQuery != "" {
			v, perr := strconv.ParseBool(r.URL.Query().Get("return_input"))
			j.returnInput = perr == nil && v
		}
	}
	if j.read && (j.batch || len(j.inst) != 1 || !j.inst[0].hasImage || j.returnInput) {
		return errorf(http.StatusUnprocessableEntity, "want one image: an image body, or {\"image\":\"data:image/png;base64,…\"}")
	}
	if aerr := s.acquire(r.Context()); aerr != nil {
		return aerr
	}
	defer func() { <-s.slots }()
	st := s.cur.Load()
	wk := <-st.workers // never waits: a slot holder finds a free worker in any pool
	defer func() { st.workers <- wk }()
	if j.read {
		return s.runRead(st, wk, j)
	}
	return s.run(st, wk, j)
}

// contentKind classifies a Content-Type header.
func contentKind(ct []string) (int, *apiError) {
	if len(ct) == 0 || ct[0] == "" {
		return 0, errorf(http.StatusUnsupportedMediaType, "no Content-Type: send application/json, image/png, image/jpeg or image/gif")
	}
	t := ct[0]
	if k := kindOf(t); k != 0 {
		return k, nil
	}
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		if k := kindOf(mt); k != 0 {
			return k, nil
		}
	}
	return 0, errorf(http.StatusUnsupportedMediaType, "Content-Type %q is not supported: send application/json, image/png, image/jpeg or image/gif", t)
}

func kindOf(mediaType string) int {
	switch strings.ToLower(mediaType) {
	case "application/json":
		return kindJSON
	case "image/png", "image/jpeg", "image/jpg", "image/gif":
		return kindImage
	}
	return 0
}

// errBodyMemory is readBody's error when grow refuses more memory.
var errBodyMemory = errors.New("request bodies in memory reached their limit")

// readBody reads r to the end into b. The Content-Length, when known, sizes the buffer,
// but only up to preallocMax: a client claiming a large body it does not send (many of
// them, slowly) must not make the server allocate it up front. Every byte of capacity
// the body comes to need is first asked of grow; a refusal ends the read with
// errBodyMemory.
func readBody(r io.Reader, b []byte, hint int64, grow func(n int64) bool) ([]byte, error) {
	const preallocMax = 256 << 10
	if !grow(int64(cap(b))) {
		return b, errBodyMemory
	}
	if hint = min(hint, preallocMax); hint > 0 && int64(cap(b)) < hint+1 {
		if !grow(hint + 1 - int64(cap(b))) {
			return b, errBodyMemory
		}
		b = make([]byte, 0, hint+1) // +1: the read that sees EOF needs room
	}
	for {
		if len(b) == cap(b) {
			old := cap(b)
			b = append(b, 0)[:len(b)]
			if !grow(int64(cap(b) - old)) {
				return b, errBodyMemory
			}
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// acquire takes a prediction slot, waiting up to QueueTimeout for one.
func (s *Server) acquire(ctx context.Context) *apiError {
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.opt.QueueTimeout)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-t.C:
		s.metrics.rejected.Inc()
		return errorf(http.StatusServiceUnavailable, "server busy: all %d prediction slots stayed taken for %v; retry shortly", cap(s.slots), s.opt.QueueTimeout)
	case <-ctx.Done():
		return errorf(http.StatusServiceUnavailable, "request cancelled while waiting for a prediction slot")
	}
}

// run preprocesses j's images, predicts every instance in one batch and writes the
// answer into j.out.
func (s *Server) run(st *loaded, wk *worker, j *job) *apiError {
	lim := digit.Limits{MaxBytes: s.opt.MaxBodyBytes, MaxPixels: s.opt.MaxPixels}
	for i := range j.inst {
		in := &j.inst[i]
		if !in.hasImage {
			in.noInk = !slices.ContainsFunc(in.pixels[:], func(v uint8) bool { return v > 25 })
			continue
		}
		if err := preprocess(in, lim); err != nil {
			if j.batch {
				err.msg = "instances[" + strconv.Itoa(i) + "]: " + err.msg
			}
			return err
		}
	}
	N := len(j.inst)
	if cap(wk.pixels) < N*Pixels {
		wk.pixels = make([]uint8, N*Pixels)
	}
	wk.pixels = wk.pixels[:N*Pixels]
	for i := range j.inst {
		copy(wk.pixels[i*Pixels:(i+1)*Pixels], j.inst[i].pixels[:])
	}
	out := wk.ens.Predict(wk.pixels, N)
	K := out.Cols()
	b := j.out[:0]
	if j.batch {
		b = append(b, `{"predictions":[`...)
	}
	for i := range j.inst {
		probs := out.Data[i*K : (i+1)*K]
		for _, p := range probs {
			if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
				return errorf(http.StatusInternalServerError, "the model produced %v: its weights are broken", p)
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		in := &j.inst[i]
		if in.noInk {
			b = append(b, `{"digit":null,"reason":"`+model.ReasonNoInk+`"`...)
			if j.batch {
				b = append(b, '}')
			}
			continue
		}
		k := wk.ens.Class(probs)
		conf := float64(nn.ClassProb(probs, k))
		if reason := model.Withhold(conf, in.parts, st.floor); reason != "" {
			b = append(b, `{"digit":null,"reason":"`...)
			b = append(b, reason...)
			b = append(b, `","guess":`...)
			b = strconv.AppendInt(b, int64(k), 10)
		} else {
			st.counts[k].Inc()
			b = append(b, `{"digit":`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, st.classJSON[k]...)
		}
		b = append(b, `,"confidence":`...)
		b = strconv.AppendFloat(b, conf, 'g', -1, 32)
		b = append(b, `,"probabilities":[`...)
		for c, p := range probs {
			if c > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(p), 'g', -1, 32)
		}
		b = append(b, ']')
		if j.returnInput {
			b = append(b, `,"input":[`...)
			for c, v := range j.inst[i].pixels {
				if c > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendUint(b, uint64(v), 10)
			}
			b = append(b, ']')
		}
		if j.batch {
			b = append(b, '}')
		}
	}
	if j.batch {
		b = append(b, ']')
	}
	b = append(b, `,"model":`...)
	b = append(b, st.nameJSON...)
	b = append(b, "}\n"...)
	j.out = b
	return nil
}

// preprocess decodes in.image and turns it into in.pixels as `digitnet predict` does.
func preprocess(in *instance, lim digit.Limits) *apiError {
	img, err := digit.Decode(bytes.NewReader(in.image), lim)
	if err == nil {
		var r digit.Result
		r, err = digit.Analyze(img)
		if errors.Is(err, digit.ErrNoInk) {
			in.pixels, in.noInk = [Pixels]uint8{}, true
			return nil
		}
		if err == nil {
			copy(in.pixels[:], r.Pixels)
			in.parts = r.Parts
			return nil
		}
	}
	return imageError(err)
}

// imageError is the answer to an image that cannot be used.
func imageError(err error) *apiError {
	msg := "image: " + strings.TrimPrefix(err.Error(), "digit: ")
	switch {
	case errors.Is(err, digit.ErrFormat), errors.Is(err, digit.ErrCorrupt), errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{http.StatusBadRequest, msg}
	case errors.Is(err, digit.ErrEmpty), errors.Is(err, digit.ErrTooLarge):
		return &apiError{http.StatusUnprocessableEntity, msg}
	}
	return &apiError{http.StatusBadRequest, msg}
}

// runRead reads the number in j's one image and writes the answer into j.out.
func (s *Server) runRead(st *loaded, wk *worker, j *job) *apiError {
	lim := digit.Limits{MaxBytes: s.opt.MaxBodyBytes, MaxPixels: s.opt.MaxPixels}
	img, err := digit.Decode(bytes.NewReader(j.inst[0].image), lim)
	if err != nil {
		return imageError(err)
	}
	rd, err := wk.ens.ReadNumber(img, st.floor)
	if err != nil {
		return imageError(err)
	}
	for _, d := range rd.Digits {
		if !d.Unsure {
			st.counts[d.Digit].Inc()
		}
	}
	result := "read"
	switch {
	case rd.Reason != "":
		result = "none"
	case strings.Contains(rd.Text, "?"):
		result = "unsure"
	}
	s.metrics.reads.WithLabelValues(result).Inc()
	type digitOut struct {
		Digit      int     `json:"digit"`
		Confidence float64 `json:"confidence"`
		Unsure     bool    `json:"unsure,omitempty"`
		Box        [4]int  `json:"box"`
	}
	var out struct {
		Text       *string    `json:"text"`
		Confidence float64    `json:"confidence,omitempty"`
		Digits     []digitOut `json:"digits,omitempty"`
		Reason     string     `json:"reason,omitempty"`
		Model      string     `json:"model"`
	}
	out.Model = st.name
	if rd.Reason != "" {
		out.Reason = rd.Reason
	} else {
		out.Text, out.Confidence = &rd.Text, rd.Confidence
		for _, d := range rd.Digits {
			b := d.Box
			out.Digits = append(out.Digits, digitOut{d.Digit, d.Confidence, d.Unsure, [4]int{b.Min.X, b.Min.Y, b.Dx(), b.Dy()}})
		}
	}
	b, _ := json.Marshal(out)
	j.out = append(append(j.out[:0], b...), '\n')
	return nil
}
