package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/model"
)

// stroke is a polyline in unit coordinates (0..1 across the digit's box).
type stroke [][2]float64

// digitStrokes are hand-made shapes of a few digits, drawn like a person would.
var digitStrokes = map[int][]stroke{
	0: {ellipse(0.5, 0.5, 0.32, 0.46)},
	1: {{{0.42, 0.18}, {0.55, 0.05}, {0.55, 0.95}}},
	3: {{{0.2, 0.12}, {0.5, 0.03}, {0.78, 0.15}, {0.78, 0.35}, {0.45, 0.48}, {0.8, 0.62}, {0.8, 0.85}, {0.5, 0.97}, {0.18, 0.88}}},
	4: {{{0.62, 0.05}, {0.12, 0.65}, {0.9, 0.65}}, {{0.65, 0.3}, {0.65, 0.97}}},
	7: {{{0.15, 0.08}, {0.85, 0.08}, {0.4, 0.95}}},
}

func ellipse(cx, cy, rx, ry float64) stroke {
	var s stroke
	for a := 0.0; a <= 2*math.Pi+0.01; a += math.Pi / 24 {
		s = append(s, [2]float64{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	return s
}

// page is how a test image is made: paper, light, ink and where the digit sits.
type page struct {
	w, h             int
	x0, y0, size     float64 // the digit's box, in pixels
	paper, ink       float64 // gray levels 0..255
	shadow           float64 // darkening from left to right, in gray levels
	noise            float64 // uniform noise amplitude
	pen              float64 // pen radius in pixels
	transparentPaper bool
}

func render(d int, p page) image.Image {
	rng := rand.New(rand.NewPCG(uint64(d), 9))
	img := image.NewNRGBA(image.Rect(0, 0, p.w, p.h))
	inked := make([]bool, p.w*p.h)
	for _, s := range digitStrokes[d] {
		for i := 0; i+1 < len(s); i++ {
			ax, ay := p.x0+s[i][0]*p.size*0.7, p.y0+s[i][1]*p.size
			bx, by := p.x0+s[i+1][0]*p.size*0.7, p.y0+s[i+1][1]*p.size
			steps := int(math.Hypot(bx-ax, by-ay)) + 1
			for k := 0; k <= steps; k++ {
				t := float64(k) / float64(steps)
				cx, cy := ax+t*(bx-ax), ay+t*(by-ay)
				r := int(p.pen) + 1
				for y := int(cy) - r; y <= int(cy)+r; y++ {
					for x := int(cx) - r; x <= int(cx)+r; x++ {
						if x >= 0 && y >= 0 && x < p.w && y < p.h && math.Hypot(float64(x)-cx, float64(y)-cy) <= p.pen {
							inked[y*p.w+x] = true
						}
					}
				}
			}
		}
	}
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			light := p.paper - p.shadow*float64(x)/float64(p.w)
			v, a := light, uint8(255)
			if inked[y*p.w+x] {
				v = p.ink
			} else if p.transparentPaper {
				a = 0
			}
			v += p.noise * (2*rng.Float64() - 1)
			g := uint8(min(max(v, 0), 255))
			img.SetNRGBA(x, y, color.NRGBA{g, g, g, a})
		}
	}
	return img
}

// TestPredictOwnImages: digits drawn and photographed in different ways are recognized
// by a model trained with the default settings. It runs beside the other parallel
// tests (see oneThread).
func TestPredictOwnImages(t *testing.T) {
	t.Parallel()
	needMNIST(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	if code, _, errOut := digitnet("train", "--epochs", "3", "--progress", "none", "--out", model); code != 0 {
		t.Fatalf("train: %s", errOut)
	}
	clean := page{w: 200, h: 200, x0: 60, y0: 30, size: 140, paper: 250, ink: 20, pen: 9}
	variants := map[string]func(page) page{
		"clean":      func(p page) page { return p },
		"gray-paper": func(p page) page { p.paper, p.ink = 175, 60; return p },
		"shadow":     func(p page) page { p.paper, p.shadow, p.noise = 235, 110, 12; return p },
		"thin":       func(p page) page { p.pen = 3; return p },
		"thick":      func(p page) page { p.pen = 16; return p },
		"off-centre": func(p page) page { p.w, p.h, p.x0, p.y0, p.size = 500, 400, 20, 220, 150; return p },
		"small-in-big": func(p page) page {
			p.w, p.h, p.x0, p.y0, p.size, p.pen, p.noise = 1600, 1200, 900, 300, 50, 4, 8
			return p
		},
		"transparent": func(p page) page { p.transparentPaper = true; return p },
	}
	want := map[string]int{}
	for d := range digitStrokes {
		for name, v := range variants {
			img := render(d, v(clean))
			file := filepath.Join(dir, strings.Join([]string{name, string(rune('0' + d))}, "-"))
			var buf bytes.Buffer
			if name == "shadow" { // a photo: JPEG
				file += ".jpg"
				_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70})
			} else {
				file += ".png"
				_ = png.Encode(&buf, img)
			}
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			want[file] = d
		}
	}
	bad := filepath.Join(dir, "zz-not-an-image.png")
	_ = os.WriteFile(bad, []byte("not an image"), 0o644)
	for _, args := range [][]string{{"--model", model}, nil} { // nil: the pretrained model
		name := "the trained model"
		if args == nil {
			name = "the pretrained model"
		}
		t.Run(name, func(t *testing.T) {
			code, out, _ := digitnet(append(append([]string{"predict"}, args...), "--json", dir)...)
			if code != 1 {
				t.Errorf("predict with one bad file: exit %d, want 1", code)
			}
			checkPredictions(t, out, want, bad)
		})
	}
}

// checkPredictions checks predict --json's lines against the digits drawn: one error
// for the bad file, at most one digit misread or withheld.
func checkPredictions(t *testing.T, out string, want map[string]int, bad string) {
	wrong := 0
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("%d JSON lines for %d files", len(lines), len(want)+1)
	}
	for _, line := range lines {
		var p struct {
			File        string
			Digit       *int
			Probability float64
			Top         []struct{ Digit int }
			Error       string
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if p.File == bad {
			if p.Error == "" || p.Digit != nil {
				t.Errorf("bad file: %q, want an error and no digit", line)
			}
			continue
		}
		if p.Digit == nil || len(p.Top) != 3 {
			wrong++
			t.Logf("%s: %q", p.File, line)
			continue
		}
		if *p.Digit != want[p.File] {
			wrong++
			t.Logf("%s: predicted %d (%.2f), want %d", filepath.Base(p.File), *p.Digit, p.Probability, want[p.File])
		}
	}
	// Hand-drawn shapes differ from MNIST handwriting; allow one miss in the 40.
	if wrong > 1 {
		t.Errorf("%d of %d drawn digits misread", wrong, len(want))
	}
}

// TestTrainOnClassFolders: a directory of one folder per class trains like MNIST does,
// and the saved model evaluates on the same layout.
func TestTrainOnClassFolders(t *testing.T) {
	trainRaw, testRaw := needMNIST(t)
	dir := t.TempDir()
	for _, s := range []*dataset.Set{trainRaw, testRaw} {
		per := map[string]int{"train": 150, "test": 30}[s.Split]
		count := make([]int, 10)
		for i := 0; i < s.N; i++ {
			l := s.Labels[i]
			if count[l] >= per {
				continue
			}
			count[l]++
			img := image.NewGray(image.Rect(0, 0, 28, 28))
			for k, v := range s.Image(i) {
				img.Pix[k] = 255 - v
			}
			var b bytes.Buffer
			_ = png.Encode(&b, img)
			d := filepath.Join(dir, s.Split, fmt.Sprint(l))
			_ = os.MkdirAll(d, 0o755)
			_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("%d.png", i)), b.Bytes(), 0o644)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "train", "5", "broken.png"), []byte("garbage"), 0o644)
	trained := filepath.Join(dir, "m.safetensors")
	code, out, errOut := digitnet("train", "--data", dir, "--epochs", "15", "--json", "--progress", "none", "--out", trained)
	if code != 0 {
		t.Fatalf("train on folders: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "broken.png") || !strings.Contains(errOut, "skipped 1 of 1501") {
		t.Errorf("the unreadable image was not reported by name with a count:\n%s", errOut)
	}
	evs := parseEvents(t, out)
	acc := *evs[len(evs)-1].TestAccuracy
	if acc < 0.8 {
		t.Errorf("1500 folder images, 15 epochs: test accuracy %.3f, want ≥ 0.8", acc)
	}
	code, out, errOut = digitnet("eval", "--model", trained, "--data", dir, "--json")
	var rep evalReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Accuracy != acc || rep.Dataset != "folder" {
		t.Errorf("eval on the folders: exit %d, %+v (want accuracy %v)\n%s", code, rep, acc, errOut)
	}

	// int8 calibrates on the training images of the data --data names: the model's own.
	code, out, errOut = digitnet("eval", "--model", trained, "--data", dir, "--json", "--precision", "int8")
	var rep8 evalReport
	if code != 0 || json.Unmarshal([]byte(out), &rep8) != nil || math.Abs(rep8.Accuracy-acc) > 0.02 {
		t.Errorf("eval --precision int8 on the folders: exit %d, %+v (fp32 accuracy %v)\n%s", code, rep8, acc, errOut)
	}

	// A checkpoint does not hold the data: resuming a folder run asks for --data.
	ck := filepath.Join(dir, "ck")
	if code, _, errOut := digitnet("train", "--data", dir, "--epochs", "1", "--progress", "none", "--checkpoint", ck); code != 0 {
		t.Fatalf("train --checkpoint on folders: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := digitnet("train", "--resume", ck, "--progress", "none"); code != 2 || !strings.Contains(errOut, "pass --data DIR") {
		t.Errorf("resume of a folder run without --data: exit %d, %q; want 2 and a word on --data", code, errOut)
	}
	if code, _, errOut := digitnet("train", "--resume", ck, "--data", dir, "--progress", "none"); code != 0 {
		t.Errorf("resume of a folder run with --data: exit %d\n%s", code, errOut)
	}

	// --outliers: the train/<kind>/ pictures of other folders join the run, towards a
	// uniform answer, and the model records where they came from.
	outliers := filepath.Join(dir, "outliers")
	for i := range 40 {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for k := range img.Pix {
			img.Pix[k] = 255
			if x, y := k%28, k/28; x == 4+i%20 || y == 4+i%20 {
				img.Pix[k] = 0 // a cross: no digit
			}
		}
		var b bytes.Buffer
		_ = png.Encode(&b, img)
		d := filepath.Join(outliers, "train", "cross")
		_ = os.MkdirAll(d, 0o755)
		_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("%d.png", i)), b.Bytes(), 0o644)
	}
	withOutliers := filepath.Join(dir, "o.safetensors")
	code, _, errOut = digitnet("train", "--data", dir, "--outliers", outliers, "--epochs", "2", "--progress", "none", "--out", withOutliers)
	if code != 0 || !strings.Contains(errOut, "40 outliers") {
		t.Fatalf("train --outliers: exit %d, want 0 and a line on the 40 outliers:\n%s", code, errOut)
	}
	if m, err := model.Load(withOutliers); err != nil || !strings.Contains(string(m.Recipe), `"outliers":"`+outliers+`"`) {
		t.Errorf("the model trained with --outliers does not record them: %v", err)
	}
	for _, args := range [][]string{{"--outliers", filepath.Join(dir, "absent")}, {"--outliers", outliers, "--loss", "mse"}, {"--outlier-weight", "0.5"}} {
		code, _, errOut = digitnet(append([]string{"train", "--data", dir, "--epochs", "1", "--progress", "none"}, args...)...)
		if lines := strings.Split(strings.TrimSpace(errOut), "\n"); code == 0 || !strings.Contains(lines[len(lines)-1], "outliers") {
			t.Errorf("train %v: exit %d, want a failure naming the outliers:\n%s", args, code, errOut)
		}
	}
}

// TestPredictWithholds: the pretrained model says "digit": null, with the reason, for
// a blank page and for two digits side by side, and reads one of them alone.
func TestPredictWithholds(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, img image.Image) string {
		var buf bytes.Buffer
		png.Encode(&buf, img)
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	clean := page{w: 200, h: 200, x0: 60, y0: 30, size: 140, paper: 250, ink: 20, pen: 9}
	seven := render(7, clean)
	blank := render(-1, clean) // no strokes
	two := image.NewNRGBA(image.Rect(0, 0, 400, 200))
	for y := range 200 {
		for x := range 400 {
			two.Set(x, y, seven.At(x%200, y))
		}
	}
	files := []string{write("seven.png", seven), write("blank.png", blank), write("two.png", two)}
	code, out, errOut := digitnet(append([]string{"predict", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 3 files: %s", len(lines), out)
	}
	want := []string{`"digit":7,`, `"digit":null,"reason":"no ink"`, `"digit":null,"reason":"more than one digit","guess":`}
	for i, line := range lines {
		if !strings.Contains(line, want[i]) {
			t.Errorf("%s: %s, want %s", filepath.Base(files[i]), line, want[i])
		}
	}
	_, human, _ := digitnet("predict", files[1], files[2])
	if !strings.Contains(human, "blank.png: no digit (no ink)") || !strings.Contains(human, "two.png: not sure (more than one digit)") {
		t.Errorf("predict's lines:\n%s\nwant no digit (no ink) and not sure (more than one digit)", human)
	}
	_, ver, _ := digitnet("version")
	if !strings.Contains(ver, "pretrained model:") || !strings.Contains(ver, "MNIST test accuracy 99.") {
		t.Errorf("version:\n%s\nwant the pretrained model's record", ver)
	}
}
