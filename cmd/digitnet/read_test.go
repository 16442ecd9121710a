package main

import (
	"encoding/json"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/digitnet/digitnet/internal/synth"
)

// TestReadCommand: `digitnet read` prints each image's number (human and JSON), marks
// a blank page, reports a bad file on its own line, and --show draws the boxes.
func TestReadCommand(t *testing.T) {
	dir := t.TempDir()
	font, err := synth.ParseFont(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		ms, ls, err := font.Text(text, 120)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := synth.Preset("ballpoint-blue")
		st.Size = 90
		n, err := synth.ComposeNumber(ms, ls, synth.DefaultLayout, st, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name)
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, n.Image)
		f.Close()
		return file
	}
	meter := write("meter.png", "2026")
	zip := write("zip.png", "94110")
	blank := filepath.Join(dir, "blank.png")
	f, _ := os.Create(blank)
	png.Encode(f, render(-1, page{w: 300, h: 100, paper: 250}))
	f.Close()
	bad := filepath.Join(dir, "zz-bad.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)

	code, out, errOut := digitnet("read", meter, zip, blank, bad)
	if code != 1 {
		t.Errorf("read with a bad file: exit %d, want 1", code)
	}
	for _, re := range []string{`meter\.png: 2026 \(0\.\d\d\)`, `zip\.png: 94110 \(0\.\d\d\)`, `blank\.png: no digits \(no ink\)`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("read printed:\n%s\nwant a line matching %s", out, re)
		}
	}
	if !strings.Contains(errOut, "zz-bad.png: error:") {
		t.Errorf("stderr %q: want the bad file's error", errOut)
	}

	code, out, _ = digitnet("read", "--json", "--show", meter, blank)
	if code != 0 {
		t.Fatalf("read --json --show: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines for 2 files:\n%s", len(lines), out)
	}
	var r reading
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil || r.Text == nil || *r.Text != "2026" || len(r.Digits) != 4 || r.Digits[0].Box[3] <= 0 {
		t.Errorf("meter.png: %s (%v), want text 2026 and 4 digits with boxes", lines[0], err)
	}
	if _, err := os.Stat(filepath.Join(dir, "meter.read.png")); err != nil || r.Shown == "" {
		t.Errorf("--show: %v (shown %q), want meter.read.png", err, r.Shown)
	}
	if !strings.Contains(lines[1], `"text":null`) || !strings.Contains(lines[1], `"reason":"no ink"`) {
		t.Errorf("blank.png: %s, want text null and reason no ink", lines[1])
	}
}
