package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// prediction is one answer of POST /v1/predict.
type prediction struct {
	Digit         int       `json:"digit"` // null (withheld) leaves it 0: see Reason
	Class         string    `json:"class"`
	Reason        string    `json:"reason"`
	Guess         *int      `json:"guess"`
	Confidence    float64   `json:"confidence"`
	Probabilities []float64 `json:"probabilities"`
	Input         []int     `json:"input"`
	Model         string    `json:"model"`
}

type batchAnswer struct {
	Predictions []prediction `json:"predictions"`
	Model       string       `json:"model"`
}

// decodeStrict decodes a JSON answer, failing on fields the test does not expect.
func decodeStrict(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, w.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
}

func predictOK(t testing.TB, h http.Handler, contentType string, body []byte) prediction {
	t.Helper()
	w := do(t, h, "POST", "/v1/predict", contentType, body)
	if w.Code != http.StatusOK {
		t.Fatalf("POST /v1/predict (%s, %d bytes): status %d, want 200; body %s", contentType, len(body), w.Code, w.Body)
	}
	var p prediction
	decodeStrict(t, w, &p)
	if len(p.Probabilities) != 10 {
		t.Fatalf("%d probabilities, want 10: %s", len(p.Probabilities), w.Body)
	}
	sum := 0.0
	for _, q := range p.Probabilities {
		sum += q
	}
	if math.Abs(sum-1) > 1e-4 {
		t.Errorf("probabilities sum to %v, want 1", sum)
	}
	if p.Reason != "" {
		t.Fatalf("answer withheld (%q): %s", p.Reason, w.Body)
	}
	if best := nn.Argmax(p.Probabilities); best != p.Digit || p.Confidence != p.Probabilities[best] {
		t.Errorf("digit %d with confidence %v, but the largest probability is class %d's, %v", p.Digit, p.Confidence, best, p.Probabilities[best])
	}
	return p
}

// TestWithheld: a blank page, two digits in one image, and an answer under the
// confidence floor each get "digit": null with the reason.
func TestWithheld(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	seven := drawDigit(7, 100, 5)
	two := image.NewGray(image.Rect(0, 0, 250, 100))
	draw.Draw(two, two.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(two, image.Rect(0, 0, 100, 100), seven, image.Point{}, draw.Src)
	draw.Draw(two, image.Rect(150, 0, 250, 100), seven, image.Point{}, draw.Src)
	b64 := base64.StdEncoding.EncodeToString
	answer := func(h http.Handler, ct string, body []byte) map[string]any {
		t.Helper()
		w := do(t, h, "POST", "/v1/predict", ct, body)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	check := func(name string, m map[string]any, reason string, probs bool) {
		t.Helper()
		d, ok := m["digit"]
		if !ok || d != nil || m["reason"] != reason {
			t.Errorf("%s: %v, want \"digit\": null and reason %q", name, m, reason)
		}
		if _, has := m["probabilities"]; has != probs {
			t.Errorf("%s: probabilities given %v, want %v: %v", name, has, probs, m)
		}
		if _, has := m["guess"]; has != probs {
			t.Errorf("%s: guess given %v, want %v: %v", name, has, probs, m)
		}
	}
	s := newServer(t, trainedModel(t), Options{})
	check("blank PNG", answer(s, "image/png", pngOf(t, blank)), model.ReasonNoInk, false)
	check("zero pixels", answer(s, "application/json", []byte(`{"pixels":[`+zeros(Pixels)+`]}`)), model.ReasonNoInk, false)
	check("two sevens", answer(s, "image/png", pngOf(t, two)), model.ReasonSeveral, true)
	batch := answer(s, "application/json", []byte(`{"instances":[{"image":"`+b64(pngOf(t, seven))+`"},{"image":"`+b64(pngOf(t, blank))+`"}]}`))
	preds, _ := batch["predictions"].([]any)
	if len(preds) != 2 {
		t.Fatalf("batch: %v", batch)
	}
	if p0, _ := preds[0].(map[string]any); p0["digit"] != 7.0 {
		t.Errorf("batch: the seven got %v", p0)
	}
	p1, _ := preds[1].(map[string]any)
	check("blank in a batch", p1, model.ReasonNoInk, false)

	floor := 1.01
	unsure := newServer(t, trainedModel(t), Options{MinConfidence: &floor})
	m := answer(unsure, "image/png", pngOf(t, seven))
	check("above every probability", m, model.ReasonUnsure, true)
	if m["guess"] != 7.0 {
		t.Errorf("the guess is %v, want 7", m["guess"])
	}
}

func TestRoutes(t *testing.T) {
	path := trainedModel(t)
	s := newServer(t, path, Options{})
	tests := []struct {
		method, target string
		status         int
		contentType    string
		contains       []string
	}{
		{"GET", "/healthz", 200, "application/json", []string{`"status":"ok"`, `"model":"mnist-mlp.safetensors"`}},
		{"GET", "/v1/model", 200, "application/json", []string{`"file":"mnist-mlp.safetensors"`, `"summary":"784-300-10 relu, softmax"`,
			`"classes":["0","1","2","3","4","5","6","7","8","9"]`, `"scale":0.003921569`, `"test_accuracy":0.9`, `"parameters":238510`, `"precision":"fp32"`}},
		{"GET", "/", 200, "text/html; charset=utf-8", []string{`<canvas id="pad"`, `/static/app.js`, `id="seen"`}},
		{"GET", "/static/app.js", 200, "text/javascript; charset=utf-8", []string{`"/v1/predict"`, "return_input"}},
		{"GET", "/static/style.css", 200, "text/css; charset=utf-8", []string{"#pad"}},
		{"GET", "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores", []string{"# TYPE digitnet_http_requests_total counter", "digitnet_model_info{arch=\"784-300-10 relu, softmax\",file=\"mnist-mlp.safetensors\"} 1", "go_goroutines"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := do(t, s, tt.method, tt.target, "", nil)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %.300s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
			for _, c := range tt.contains {
				if !strings.Contains(w.Body.String(), c) {
					t.Errorf("body lacks %q:\n%.1000s", c, w.Body)
				}
			}
		})
	}
	t.Run("model metadata shape", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(do(t, s, "GET", "/v1/model", "", nil).Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"file", "architecture", "summary", "layers", "parameters", "classes", "dataset", "input", "training", "loaded_at"} {
			if _, ok := m[k]; !ok {
				t.Errorf("/v1/model lacks %q: %v", k, m)
			}
		}
	})
}

func TestPredictImages(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{})
	for _, d := range []int{0, 1, 2, 3, 4, 7} {
		img := drawDigit(d, 160, 7)
		t.Run(fmt.Sprintf("PNG %d", d), func(t *testing.T) {
			p := predictOK(t, s, "image/png", pngOf(t, img))
			if p.Digit != d {
				t.Errorf("drawn %d: predicted %d (probabilities %.3f)", d, p.Digit, p.Probabilities)
			}
			if p.Model != "mnist-mlp.safetensors" || p.Input != nil || p.Class != "" {
				t.Errorf("model %q, input %v, class %q: want the file name, no input, no class", p.Model, p.Input, p.Class)
			}
		})
		t.Run(fmt.Sprintf("JPEG %d", d), func(t *testing.T) {
			var b bytes.Buffer
			jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
			if p := predictOK(t, s, "image/jpeg", b.Bytes()); p.Digit != d {
				t.Errorf("drawn %d: predicted %d", d, p.Digit)
			}
		})
		t.Run(fmt.Sprintf("data URL %d", d), func(t *testing.T) {
			body := `{"image":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(pngOf(t, img)) + `"}`
			if p := predictOK(t, s, "application/json", []byte(body)); p.Digit != d {
				t.Errorf("drawn %d: predicted %d", d, p.Digit)
			}
		})
	}
}

// TestPixelsMatchImage: an image and the 784 pixels it preprocesses to give the same
// answer, and return_input shows exactly what digit.Preprocess makes of the image.
func TestPixelsMatchImage(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{})
	for _, d := range []int{1, 7} {
		t.Run(fmt.Sprintf("drawn %d", d), func(t *testing.T) {
			img := drawDigit(d, 160, 7)
			want, err := digit.Preprocess(img)
			if err != nil {
				t.Fatal(err)
			}
			fromPNG := predictOK(t, s, "image/png", pngOf(t, img))
			if fromPNG.Input != nil {
				t.Fatalf("input returned without return_input")
			}
			w := do(t, s, "POST", "/v1/predict?return_input=1", "image/png", pngOf(t, img))
			var withInput prediction
			decodeStrict(t, w, &withInput)
			got := make([]uint8, len(withInput.Input))
			for i, v := range withInput.Input {
				got[i] = uint8(v)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("return_input differs from digit.Preprocess:\ngot\n%swant\n%s", digit.ASCII(got), digit.ASCII(want))
			}
			fromPixels := predictOK(t, s, "application/json", pixelsJSON(want))
			if fromPixels.Digit != fromPNG.Digit || !slices.Equal(fromPixels.Probabilities, fromPNG.Probabilities) {
				t.Errorf("pixels: digit %d %v; PNG: digit %d %v", fromPixels.Digit, fromPixels.Probabilities, fromPNG.Digit, fromPNG.Probabilities)
			}
			if fromPNG.Digit != d {
				t.Errorf("drawn %d, predicted %d", d, fromPNG.Digit)
			}
		})
	}
	// An MNIST image sent as a PNG is preprocessed again (cropped, scaled, centred), so
	// its input differs a little from the raw pixels: a confident answer must not change.
	// (A borderline one may, and which way depends on rounding: the model is trained
	// once, on one BLAS thread or two as tests calling SingleThreadedProducts ran
	// before it or not.)
	t.Run("MNIST test images", func(t *testing.T) {
		for i := range 20 {
			px := mnistTest.Image(i)
			a := predictOK(t, s, "application/json", pixelsJSON(px))
			b := predictOK(t, s, "image/png", mnistPNG(t, i))
			if a.Digit != b.Digit && a.Probabilities[a.Digit] > 0.9 {
				t.Errorf("test image %d (label %d): pixels give %d (%.2f), the same image as PNG %d", i, mnistTest.Labels[i], a.Digit, a.Probabilities[a.Digit], b.Digit)
			}
		}
	})
}

func TestPredictBatch(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{})
	var parts []string
	var singles []prediction
	for i := range 5 {
		body := pixelsJSON(mnistTest.Image(i))
		parts = append(parts, string(body))
		singles = append(singles, predictOK(t, s, "application/json", body))
	}
	seven := pngOf(t, drawDigit(7, 120, 6))
	parts = append(parts, `{"image":"data:image/png;base64,`+base64.StdEncoding.EncodeToString(seven)+`"}`)
	singles = append(singles, predictOK(t, s, "image/png", seven))
	parts = append(parts, `{"image":"`+base64.RawStdEncoding.EncodeToString(mnistPNG(t, 5))+`"}`) // plain base64, no padding
	singles = append(singles, predictOK(t, s, "image/png", mnistPNG(t, 5)))

	body := `{"return_input":true, "instances":[` + strings.Join(parts, ",\n") + "]}"
	w := do(t, s, "POST", "/v1/predict", "application/json", []byte(body))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got batchAnswer
	decodeStrict(t, w, &got)
	if got.Model != "mnist-mlp.safetensors" || len(got.Predictions) != len(singles) {
		t.Fatalf("model %q, %d predictions; want mnist-mlp.safetensors, %d", got.Model, len(got.Predictions), len(singles))
	}
	for i, p := range got.Predictions {
		want := singles[i]
		if p.Digit != want.Digit || p.Model != "" || len(p.Input) != Pixels {
			t.Errorf("instance %d: digit %d, model %q, %d input values; want digit %d (as alone), no model, 784 values", i, p.Digit, p.Model, len(p.Input), want.Digit)
		}
		// The batch runs as one matrix product, a single image on the sparse path:
		// the sums round differently, in the last bits.
		for k := range p.Probabilities {
			if math.Abs(p.Probabilities[k]-want.Probabilities[k]) > 1e-5 {
				t.Errorf("instance %d: probability %d is %v in the batch, %v alone", i, k, p.Probabilities[k], want.Probabilities[k])
			}
		}
	}
	if got.Predictions[5].Digit != 7 {
		t.Errorf("the drawn 7 in the batch: predicted %d", got.Predictions[5].Digit)
	}
	// A batch of one is still a list.
	w = do(t, s, "POST", "/v1/predict", "application/json", []byte(`{"instances":[`+parts[0]+`]}`))
	var one batchAnswer
	decodeStrict(t, w, &one)
	if len(one.Predictions) != 1 || one.Predictions[0].Digit != singles[0].Digit {
		t.Errorf("batch of one: %s", w.Body)
	}
}

// pngHeader is the start of a PNG file claiming a w×h grayscale image: the signature,
// a valid IHDR chunk and nothing more.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit grayscale, no interlace
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// zeros is n comma-separated zeros.
func zeros(n int) string { return strings.TrimSuffix(strings.Repeat("0,", n), ",") }

// TestBadRequests sends every kind of bad request to one server and checks each gets
// the right 4xx with a JSON error saying what was wrong; then a good request still works.
func TestBadRequests(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{MaxBodyBytes: 1 << 20, MaxBatch: 4})
	seven := pngOf(t, drawDigit(7, 100, 5))
	blank := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	px := zeros(Pixels)
	pixels := func(first string) string { return `{"pixels":[` + first + "," + zeros(Pixels-1) + "]}" }
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, method, target, contentType string
		body                              string
		chunked                           bool // no Content-Length
		status                            int
		want                              string // in the error message
		allow                             string // the Allow header of a 405
	}{
		// images
		{name: "non-image bytes", contentType: "image/png", body: "this is not an image", status: 400, want: "unknown image format"},
		{name: "truncated PNG", contentType: "image/png", body: string(seven[:len(seven)/2]), status: 400, want: "truncated png image"},
		{name: "corrupt PNG", contentType: "image/png", body: string(pngHeader(28, 28)) + "\x00\x00\x00\x04IDATxxxx\x00\x00\x00\x00", status: 400, want: "image: corrupt image"},
		{name: "0x0 PNG", contentType: "image/png", body: string(pngHeader(0, 0)), status: 422, want: "0×0"},
		{name: "20000x20000 PNG", contentType: "image/png", body: string(pngHeader(20000, 20000)), status: 422, want: "20000×20000, more than 25000000 pixels"},
		{name: "empty image body", contentType: "image/png", body: "", status: 400, want: "empty body"},
		{name: "PNG bytes as JPEG", contentType: "image/jpeg", body: "\xff\xd8\xff\xe0 not really", status: 400, want: "jpeg"},
		// pixels
		{name: "783 pixels", contentType: "application/json", body: `{"pixels":[` + zeros(783) + "]}", status: 422, want: "pixels has 783 values, want 784"},
		{name: "785 pixels", contentType: "application/json", body: `{"pixels":[` + zeros(785) + "]}", status: 422, want: "pixels has 785 values, want 784"},
		{name: "empty pixels", contentType: "application/json", body: `{"pixels":[]}`, status: 422, want: "pixels has 0 values"},
		{name: "NaN", contentType: "application/json", body: pixels("NaN"), status: 422, want: "pixels[0] is NaN"},
		{name: "-Infinity", contentType: "application/json", body: `{"pixels":[0,-Infinity]}`, status: 422, want: "pixels[1] is -Infinity"},
		{name: "256", contentType: "application/json", body: pixels("256"), status: 422, want: "pixels[0] = 256 is outside 0..255"},
		{name: "-1", contentType: "application/json", body: pixels("-1"), status: 422, want: "pixels[0] = -1 is outside 0..255"},
		{name: "1e999", contentType: "application/json", body: pixels("1e999"), status: 422, want: "pixels[0] = +Inf is outside 0..255"},
		{name: "pixel as string", contentType: "application/json", body: pixels(`"12"`), status: 400, want: "pixels[0]: want a number in 0..255, got a string"},
		{name: "pixel null", contentType: "application/json", body: pixels(`null`), status: 400, want: "got null"},
		{name: "pixels not an array", contentType: "application/json", body: `{"pixels":"0,0,0"}`, status: 400, want: "pixels: want an array of 784 numbers in 0..255, got a string"},
		{name: "bad number", contentType: "application/json", body: pixels("1.e5"), status: 400, want: "invalid number"},
		{name: "leading zero", contentType: "application/json", body: pixels("012"), status: 400, want: "malformed JSON at byte 12"},
		// JSON structure
		{name: "malformed JSON", contentType: "application/json", body: `{"pixels":[1,2`, status: 400, want: "malformed JSON: unexpected end of the body"},
		{name: "trailing data", contentType: "application/json", body: `{"pixels":[` + px + "]} x", status: 400, want: "unexpected data after the JSON object"},
		{name: "empty JSON body", contentType: "application/json", body: "  ", status: 400, want: "empty body"},
		{name: "array at top", contentType: "application/json", body: "[" + px + "]", status: 400, want: "want a JSON object"},
		{name: "unknown field", contentType: "application/json", body: `{"pixel":[` + px + "]}", status: 400, want: `unknown field "pixel"`},
		{name: "field twice", contentType: "application/json", body: `{"pixels":[` + px + `],"pixels":[` + px + "]}", status: 400, want: `field "pixels" given twice`},
		{name: "pixels and image", contentType: "application/json", body: `{"pixels":[` + px + `],"image":"` + b64(seven) + `"}`, status: 422, want: `either "pixels" or "image"`},
		{name: "nothing to predict", contentType: "application/json", body: `{"return_input":true}`, status: 422, want: "nothing to predict"},
		{name: "return_input not a bool", contentType: "application/json", body: `{"return_input":"yes","pixels":[` + px + "]}", status: 400, want: "return_input: want true or false, got a string"},
		// batches
		{name: "empty batch", contentType: "application/json", body: `{"instances":[]}`, status: 422, want: "instances is empty"},
		{name: "batch over the limit", contentType: "application/json", body: `{"instances":[` + strings.Repeat(`{"pixels":[`+px+`]},`, 4) + `{"pixels":[` + px + "]}]}", status: 422, want: "more than 4, the batch limit"},
		{name: "instance without data", contentType: "application/json", body: `{"instances":[{}]}`, status: 422, want: `instances[0]: want "pixels" or "image"`},
		{name: "bad instance", contentType: "application/json", body: `{"instances":[{"pixels":[` + px + `]},{"pixels":[` + zeros(783) + "]}]}", status: 422, want: "instances[1].pixels has 783 values"},
		{name: "instance not an object", contentType: "application/json", body: `{"instances":[[1,2]]}`, status: 400, want: "instances[0]: want an object"},
		{name: "bad image in batch", contentType: "application/json", body: `{"instances":[{"pixels":[` + px + `]},{"image":"` + b64([]byte("not an image")) + `"}]}`, status: 400, want: "instances[1]: image: unknown image format"},
		{name: "instances and pixels", contentType: "application/json", body: `{"instances":[{"pixels":[` + px + `]}],"pixels":[` + px + "]}", status: 422, want: "either \"instances\" or a single"},
		// images in JSON
		{name: "bad base64", contentType: "application/json", body: `{"image":"!!!!"}`, status: 400, want: "image: invalid base64 at character 0"},
		{name: "data URL of text", contentType: "application/json", body: `{"image":"data:text/plain;base64,aGVsbG8="}`, status: 422, want: `data URL of type "text/plain"`},
		{name: "data URL not base64", contentType: "application/json", body: `{"image":"data:image/png,abc"}`, status: 422, want: "must be base64"},
		{name: "data URL of non-image", contentType: "application/json", body: `{"image":"data:image/png;base64,` + b64([]byte("hello there")) + `"}`, status: 400, want: "image: unknown image format"},
		{name: "image not a string", contentType: "application/json", body: `{"image":42}`, status: 400, want: "image: want a string"},
		// content type and size
		{name: "text/plain", contentType: "text/plain", body: "7", status: 415, want: `Content-Type "text/plain" is not supported`},
		{name: "no Content-Type", body: `{"pixels":[` + px + "]}", status: 415, want: "no Content-Type"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: "pixels=1", status: 415, want: "application/json, image/png"},
		{name: "oversized body", contentType: "image/png", body: strings.Repeat("x", 1<<20+1), status: 413, want: "1048577 bytes is larger than the limit, 1048576"},
		{name: "oversized chunked body", contentType: "application/json", body: strings.Repeat(" ", 1<<20+1), chunked: true, status: 413, want: "larger than the limit, 1048576 bytes"},
		// routes and methods
		{name: "GET predict", method: "GET", target: "/v1/predict", status: 405, want: "method GET not allowed on /v1/predict", allow: "POST"},
		{name: "DELETE model", method: "DELETE", target: "/v1/model", status: 405, want: "allowed: GET, HEAD", allow: "GET, HEAD"},
		{name: "POST healthz", method: "POST", target: "/healthz", status: 405, allow: "GET, HEAD"},
		{name: "POST page", method: "POST", target: "/", status: 405, allow: "GET, HEAD"},
		{name: "unknown route", method: "GET", target: "/v2/predict", status: 404, want: "no route for GET /v2/predict; routes: GET /, POST /v1/predict"},
		{name: "unknown POST route", method: "POST", target: "/predict", contentType: "image/png", body: string(seven), status: 404, want: "no route"},
		{name: "missing asset", method: "GET", target: "/static/nope.js", status: 404, want: "no file /static/nope.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, target := tt.method, tt.target
			if method == "" {
				method, target = "POST", "/v1/predict"
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: ContentLength -1
			}
			r := httptest.NewRequest(method, target, body)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var e map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("body is not JSON: %v: %q", err, w.Body)
			}
			msg, ok := e["error"].(string)
			if len(e) != 1 || !ok || msg == "" {
				t.Fatalf("body %s, want exactly {\"error\":\"…\"}", w.Body)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to contain %q", msg, tt.want)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	t.Run("still serving", func(t *testing.T) {
		if p := predictOK(t, s, "image/png", seven); p.Digit != 7 {
			t.Errorf("after the bad requests, a 7 predicted as %d", p.Digit)
		}
		predictOK(t, s, "application/json", pixelsJSON(mnistTest.Image(0)))
	})
}

// TestHugeImageNotDecoded: a 20000×20000 PNG (1.6 GB as RGBA) is refused on its header,
// without allocating the image.
func TestHugeImageNotDecoded(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{})
	body := pngHeader(20000, 20000)
	do(t, s, "POST", "/v1/predict", "image/png", body) // warm up pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := do(t, s, "POST", "/v1/predict", "image/png", body)
	runtime.ReadMemStats(&after)
	if w.Code != 422 {
		t.Fatalf("status %d, want 422: %s", w.Code, w.Body)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing the image allocated %d bytes, want under 1 MiB", n)
	}
}

// TestBusy: beyond MaxInFlight a request waits QueueTimeout, then gets 503; the next
// one, once a slot is free, is served.
func TestBusy(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{MaxInFlight: 1, QueueTimeout: 20 * time.Millisecond})
	body := pixelsJSON(mnistTest.Image(0))
	s.slots <- struct{}{} // a prediction that does not finish
	w := do(t, s, "POST", "/v1/predict", "application/json", body)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "server busy") {
		t.Errorf("with every slot taken: status %d, Retry-After %q, body %s; want 503, a Retry-After, server busy", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	<-s.slots
	predictOK(t, s, "application/json", body)
	if v := metricValue(t, s, "digitnet_predict_rejected_total"); v != 1 {
		t.Errorf("digitnet_predict_rejected_total %v, want 1", v)
	}
}

// metricValue scrapes /metrics and returns the value of one series, given as it
// appears in the exposition (labels sorted by name); 0 if absent.
func metricValue(t testing.TB, h http.Handler, series string) float64 {
	t.Helper()
	w := do(t, h, "GET", "/metrics", "", nil)
	for line := range strings.Lines(w.Body.String()) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return v
		}
	}
	return 0
}

func TestMetrics(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{})
	ok200 := `digitnet_http_requests_total{code="200",route="POST /v1/predict"}`
	bad422 := `digitnet_http_requests_total{code="422",route="POST /v1/predict"}`
	notFound := `digitnet_http_requests_total{code="404",route="unmatched"}`
	sevens := `digitnet_predictions_total{class="7"}`
	ones := `digitnet_predictions_total{class="1"}`
	latency := `digitnet_http_request_duration_seconds_count{route="POST /v1/predict"}`
	series := []string{ok200, bad422, notFound, sevens, ones, latency}
	before := map[string]float64{}
	for _, m := range series {
		before[m] = metricValue(t, s, m)
	}
	seven, one := pngOf(t, drawDigit(7, 100, 5)), pngOf(t, drawDigit(1, 100, 5))
	predictOK(t, s, "image/png", seven)
	predictOK(t, s, "image/png", seven)
	predictOK(t, s, "image/png", one)
	batch := `{"instances":[{"image":"` + base64.StdEncoding.EncodeToString(seven) + `"},{"image":"` + base64.StdEncoding.EncodeToString(one) + `"}]}`
	if w := do(t, s, "POST", "/v1/predict", "application/json", []byte(batch)); w.Code != 200 {
		t.Fatalf("batch: %d %s", w.Code, w.Body)
	}
	do(t, s, "POST", "/v1/predict", "application/json", []byte(`{"pixels":[1]}`))
	do(t, s, "GET", "/nowhere", "", nil)
	want := map[string]float64{ok200: 4, bad422: 1, notFound: 1, sevens: 3, ones: 2, latency: 5}
	for _, m := range series {
		if got := metricValue(t, s, m) - before[m]; got != want[m] {
			t.Errorf("%s moved by %v, want %v", m, got, want[m])
		}
	}
}

func TestReload(t *testing.T) {
	first := trainedModel(t)
	s := newServer(t, first, Options{})
	second := untrainedModel(t, "second.safetensors", 784, 32, 10)
	body := pixelsJSON(mnistTest.Image(0))

	if err := reload(s, second); err != nil {
		t.Fatalf("Reload(good file): %v", err)
	}
	if p := predictOK(t, s, "application/json", body); p.Model != "second.safetensors" {
		t.Errorf("after reloading: model %q, want second.safetensors", p.Model)
	}
	var info struct {
		File    string `json:"file"`
		Summary string `json:"summary"`
	}
	json.Unmarshal(do(t, s, "GET", "/v1/model", "", nil).Body.Bytes(), &info)
	if info.File != "second.safetensors" || info.Summary != "784-32-10 relu, softmax" {
		t.Errorf("/v1/model after reload: %+v", info)
	}

	dir := t.TempDir()
	garbage := dir + "/garbage.safetensors"
	writeFile(t, garbage, []byte("not a model at all"))
	wrongInput := untrainedModel(t, "wrong-input.safetensors", 100, 10)
	for _, bad := range []string{garbage, dir + "/missing.safetensors", wrongInput} {
		if err := reload(s, bad); err == nil {
			t.Errorf("Reload(%s) succeeded, want an error", bad)
		}
		if p := predictOK(t, s, "application/json", body); p.Model != "second.safetensors" {
			t.Errorf("after the failed reload of %s: model %q, want second.safetensors still", bad, p.Model)
		}
	}
	if err := reload(s, first); err != nil {
		t.Fatal(err)
	}
	if p := predictOK(t, s, "application/json", body); p.Model != "mnist-mlp.safetensors" || p.Digit != int(mnistTest.Labels[0]) {
		t.Errorf("back on the first model: %q predicts %d, want mnist-mlp.safetensors predicting %d", p.Model, p.Digit, mnistTest.Labels[0])
	}
	want := map[string]float64{"ok": 2, "error": 3}
	for result, n := range want {
		if got := metricValue(t, s, `digitnet_model_reloads_total{result="`+result+`"}`); got != n {
			t.Errorf("reloads %s = %v, want %v", result, got, n)
		}
	}
}

// TestReloadUnderLoad: predictions running while the model is swapped back and forth
// all succeed, each answered wholly by one model or the other (run with -race).
func TestReloadUnderLoad(t *testing.T) {
	a := trainedModel(t)
	b := untrainedModel(t, "other.safetensors", 784, 16, 10)
	s := newServer(t, a, Options{MaxInFlight: 4, QueueTimeout: 5 * time.Second})
	body := pixelsJSON(mnistTest.Image(3))
	done := make(chan struct{})
	errs := make(chan string, 100)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				w := do(t, s, "POST", "/v1/predict", "application/json", body)
				var p prediction
				if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p) != nil || len(p.Probabilities) != 10 {
					errs <- fmt.Sprintf("status %d: %s", w.Code, w.Body)
				}
			}
		}()
	}
	for i := range 20 {
		if err := reload(s, []string{a, b}[i%2]); err != nil {
			t.Error(err)
		}
	}
	close(done)
	for finished := 0; finished < 4; {
		if e := <-errs; e == "" {
			finished++
		} else {
			t.Error(e)
		}
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConvModel: a convolutional network, input [1 28 28], is served like an MLP.
func TestConvModel(t *testing.T) {
	spec := nn.Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal,
		Layers: []nn.LayerSpec{{Type: "conv2d", Out: 4, Kernel: 3}, {Type: "relu"}, {Type: "conv2d", Out: 4, Kernel: 5, Stride: 2, Padding: 2},
			{Type: "maxpool", Kernel: 2}, {Type: "flatten"}, {Type: "dense", Out: 10}}}
	net, err := spec.Build(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cnn.safetensors")
	m := &model.Model{Arch: spec, Net: net, Input: model.Input{Scale: 1.0 / 255}, Dataset: "mnist",
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	if err := model.Save(path, m); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, path, Options{})
	seven := pngOf(t, drawDigit(7, 100, 5))
	predictOK(t, s, "image/png", seven)
	body := `{"instances":[{"image":"` + base64.StdEncoding.EncodeToString(seven) + `"},{"pixels":[` + zeros(Pixels) + `]}]}`
	var got batchAnswer
	decodeStrict(t, do(t, s, "POST", "/v1/predict", "application/json", []byte(body)), &got)
	if len(got.Predictions) != 2 {
		t.Errorf("batch on a CNN: %d predictions, want 2", len(got.Predictions))
	}
	var info struct {
		Summary string `json:"summary"`
	}
	json.Unmarshal(do(t, s, "GET", "/v1/model", "", nil).Body.Bytes(), &info)
	if want := "1x28x28 conv2d(4,k3) relu conv2d(4,k5,s2,p2) maxpool(2) flatten dense(10), softmax"; info.Summary != want {
		t.Errorf("summary %q, want %q", info.Summary, want)
	}
}

// TestEnsemble serves two models of different architectures and input scalings as one:
// every answer must be the mean of the members' own probabilities.
func TestEnsemble(t *testing.T) {
	dir := t.TempDir()
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	specs := []nn.Spec{
		{Input: []int{784}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal,
			Layers: []nn.LayerSpec{{Type: "dense", Out: 16}, {Type: "relu"}, {Type: "dense", Out: 10}}},
		{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal,
			Layers: []nn.LayerSpec{{Type: "conv2d", Out: 3, Kernel: 5}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
				{Type: "flatten"}, {Type: "dense", Out: 10}}},
	}
	inputs := []model.Input{{Scale: 1.0 / 255}, {Scale: 1.0 / 255 / 0.3081, Offset: -0.1307 / 0.3081}}
	var paths []string
	var members []*model.Model
	for i, spec := range specs {
		net, err := spec.Build(rand.New(rand.NewPCG(uint64(i), 9)))
		if err != nil {
			t.Fatal(err)
		}
		m := &model.Model{Arch: spec, Net: net, Input: inputs[i], Dataset: "mnist", Classes: classes}
		p := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", i))
		if err := model.Save(p, m); err != nil {
			t.Fatal(err)
		}
		paths, members = append(paths, p), append(members, m)
	}
	s := newServer(t, strings.Join(paths, ","), Options{})

	rng := rand.New(rand.NewPCG(5, 5))
	pixels := make([]uint8, Pixels)
	for i := range pixels {
		pixels[i] = uint8(rng.IntN(256))
	}
	var sb strings.Builder
	for i, v := range pixels {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(int(v)))
	}
	got := predictOK(t, s, "application/json", []byte(`{"pixels":[`+sb.String()+`]}`))
	if got.Model != "m0.safetensors,m1.safetensors" {
		t.Errorf("model %q, want both members' names", got.Model)
	}
	want := make([]float64, 10)
	for _, m := range members {
		x := make([]float32, Pixels)
		m.Batch(x, pixels)
		in := &tensor.Tensor{Shape: append([]int{1}, m.Arch.Input...), Data: x}
		for k, p := range m.Net.Predict(in).Data {
			want[k] += float64(p) / float64(len(members))
		}
	}
	for k := range want {
		if math.Abs(got.Probabilities[k]-want[k]) > 1e-6 {
			t.Fatalf("probability %d: %v, want the members' mean %v", k, got.Probabilities[k], want[k])
		}
	}
	var info struct {
		File       string `json:"file"`
		Parameters int    `json:"parameters"`
		Members    []struct {
			File       string `json:"file"`
			Parameters int    `json:"parameters"`
		} `json:"members"`
	}
	json.Unmarshal(do(t, s, "GET", "/v1/model", "", nil).Body.Bytes(), &info)
	if len(info.Members) != 2 || info.Members[1].File != "m1.safetensors" || info.Parameters != info.Members[0].Parameters+info.Members[1].Parameters {
		t.Errorf("/v1/model for an ensemble: %+v", info)
	}

	if _, err := New(Files(paths[0], filepath.Join(dir, "missing.safetensors")), Options{}); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("an ensemble with a missing member: error %v, want one naming the file", err)
	}
}
