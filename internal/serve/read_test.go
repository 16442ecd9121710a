package serve

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/digitnet/digitnet/internal/pretrained"
	"github.com/digitnet/digitnet/internal/synth"
)

type readAnswer struct {
	Text       *string `json:"text"`
	Confidence float64 `json:"confidence"`
	Digits     []struct {
		Digit      int     `json:"digit"`
		Confidence float64 `json:"confidence"`
		Unsure     bool    `json:"unsure"`
		Box        [4]int  `json:"box"`
	} `json:"digits"`
	Reason string `json:"reason"`
	Model  string `json:"model"`
}

func numberPNG(t *testing.T, text string) []byte {
	t.Helper()
	font, err := synth.ParseFont(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	ms, ls, err := font.Text(text, 120)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := synth.Preset("clean")
	st.Size = 80
	lay := synth.DefaultLayout
	lay.GapMin, lay.GapMax = 0.2, 0.3
	n, err := synth.ComposeNumber(ms, ls, lay, st, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return pngOf(t, n.Image)
}

// TestRead: POST /v1/read reads the number in an image body or a JSON data URL, says
// why when there is none, and refuses what is not one image as /v1/predict would.
func TestRead(t *testing.T) {
	s, err := New(pretrained.Ensemble, Options{Logger: testLogger(t), MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	img := numberPNG(t, "2026")
	read := func(ct string, body []byte) readAnswer {
		t.Helper()
		w := do(t, s, "POST", "/v1/read", ct, body)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var a readAnswer
		decodeStrict(t, w, &a)
		return a
	}
	for name, a := range map[string]readAnswer{
		"PNG body":  read("image/png", img),
		"JSON data": read("application/json", []byte(`{"image":"data:image/png;base64,`+base64.StdEncoding.EncodeToString(img)+`"}`)),
	} {
		if a.Text == nil || *a.Text != "2026" || len(a.Digits) != 4 || a.Digits[0].Box[2] <= 0 || !strings.HasPrefix(a.Model, pretrained.Name) {
			b, _ := json.Marshal(a)
			t.Errorf("%s: %s, want 2026 with 4 digits and their boxes", name, b)
		}
	}
	blank := read("image/png", pngOf(t, drawDigit(-1, 100, 5)))
	if blank.Text != nil || blank.Reason != "no ink" {
		t.Errorf("a blank page: text %v, reason %q; want null and no ink", blank.Text, blank.Reason)
	}
	if got := metricValue(t, s, `digitnet_reads_total{result="read"}`); got != 2 {
		t.Errorf("digitnet_reads_total{result=\"read\"} = %v, want 2", got)
	}
	for _, c := range []struct {
		name, ct, body string
		status         int
		want           string
	}{
		{"not an image", "image/png", "hello", 400, "unknown image format"},
		{"truncated", "image/png", string(img[:len(img)/2]), 400, "image"},
		{"pixels", "application/json", `{"pixels":[` + zeros(Pixels) + `]}`, 422, "want one image"},
		{"a batch", "application/json", `{"instances":[{"image":"` + base64.StdEncoding.EncodeToString(img) + `"}]}`, 422, "want one image"},
		{"huge", "image/png", string(pngHeader(20000, 20000)), 422, "more than"},
	} {
		w := do(t, s, "POST", "/v1/read", c.ct, []byte(c.body))
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, w.Code, w.Body, c.status, c.want)
		}
	}
	if w := do(t, s, "GET", "/v1/read", "", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/read: %d, want 405", w.Code)
	}
}
