package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/idx"
)

var diagAll = flag.Bool("diag.all", false, "TestDiagnoseQuiet: also the slow convolutional configurations (about 10 minutes)")

// TestDiagnoseQuiet: every built-in preset, model and example spec, on MNIST and on
// Fashion-MNIST, gets no warning and no error: a finding on a network that learns well
// is information at most. The presets and the small CNNs run in every `go test`; the
// example specs and PyTorch's example CNN, which take minutes, with -diag.all:
//
//	go test -run TestDiagnoseQuiet -v -timeout 30m ./cmd/digitnet -args -diag.all
//
// Each configuration is a subtest of its own, run beside the others on one thread (see
// oneThread).
func TestDiagnoseQuiet(t *testing.T) {
	t.Parallel()
	needMNIST(t)
	specs, err := filepath.Glob("../../examples/*.json")
	if err != nil || len(specs) == 0 {
		t.Fatalf("example specs: %v", err)
	}
	type config struct {
		args []string
		slow bool
	}
	configs := []config{{[]string{"--preset", "default"}, false}, {[]string{"--preset", "fixed"}, false},
		{[]string{"--model", "cnn"}, false}, {[]string{"--model", "lenet5"}, false}, {[]string{"--model", "examples"}, true}}
	for _, s := range specs { // each takes 7-120 s
		configs = append(configs, config{[]string{"--arch", s}, true})
	}
	for _, ds := range []string{"mnist", "fashion"} {
		for _, c := range configs {
			if c.slow && !*diagAll {
				continue
			}
			args := append([]string{"--dataset", ds}, c.args...)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				rep := diagnose(t, args...)
				for _, f := range rep.Findings {
					if f.Severity != "info" {
						t.Errorf("false alarm %s (%s): %s; fix %s", f.ID, f.Severity, f.Message, f.Fix)
					}
				}
				t.Logf("%.1f s", rep.Seconds)
			})
		}
	}
}

// TestUserIDXData: a user's own IDX files under another name (20×20 images, 5 classes,
// gzipped, a prefix) train, evaluate, diagnose and are described by data info; a
// directory with IDX files that do not pair is refused rather than swapped for MNIST.
func TestUserIDXData(t *testing.T) {
	tr, te := needMNIST(t)
	dir := t.TempDir()
	writeUserIDX(t, dir, "mydigits-", tr, te)
	model := filepath.Join(dir, "m.safetensors")
	code, out, errOut := digitnet("train", "--data", dir, "--epochs", "2", "--progress", "none", "--out", model)
	if code != 0 || !strings.Contains(out, "data: mydigits, ") || !strings.Contains(out, "Dense(400->300)") || !strings.Contains(out, "Dense(300->5)") {
		t.Fatalf("train on mydigits: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "a data set of its own") {
		t.Errorf("train did not note the data was the user's own:\n%s", errOut)
	}
	code, out, errOut = digitnet("eval", "--model", model, "--data", dir, "--json")
	var rep evalReport
	if code != 0 || jsonUnmarshal(out, &rep) != nil || rep.Examples != 2000 || len(rep.PerClass) != 5 || rep.Accuracy < 0.8 {
		t.Errorf("eval on mydigits: exit %d %+v\n%s", code, rep, errOut)
	}
	d := diagnose(t, "--data", dir)
	for _, f := range d.Findings {
		if f.Severity != "info" {
			t.Errorf("diagnose of healthy user data: %s %s: %s", f.ID, f.Severity, f.Message)
		}
	}
	code, out, _ = digitnet("data", "info", "--data", dir)
	if code != 0 || !strings.Contains(out, "mydigits-train-images-idx3-ubyte.gz") || !strings.Contains(out, "[6000 20 20]") || !strings.Contains(out, "not a known data set's") {
		t.Errorf("data info of mydigits: exit %d\n%s", code, out)
	}
	// IDX files that do not pair: refused, not replaced by the cached MNIST.
	odd := t.TempDir()
	os.WriteFile(filepath.Join(odd, "images.idx3-ubyte"), []byte{0, 0, 8, 3}, 0o644)
	code, _, errOut = digitnet("train", "--data", odd, "--epochs", "1", "--progress", "none")
	if code != 1 || !strings.Contains(errOut, "cannot pair") {
		t.Errorf("train on unpaired IDX files: exit %d, %q; want a refusal naming them", code, errOut)
	}
}

// writeUserIDX writes a 5-class data set of 20×20 images cut from MNIST's digits 0-4
// (6000 train, 2000 test), gzipped, under prefix.
func writeUserIDX(t *testing.T, dir, prefix string, tr, te *dataset.Set) {
	t.Helper()
	for _, c := range []struct {
		split string
		s     *dataset.Set
		n     int
	}{{"train", tr, 6000}, {"t10k", te, 2000}} {
		img := &idx.Array{Type: idx.Uint8, Dims: []int{c.n, 20, 20}}
		lab := &idx.Array{Type: idx.Uint8, Dims: []int{c.n}}
		for i := 0; len(lab.Data) < c.n; i++ {
			if c.s.Labels[i] >= 5 {
				continue
			}
			px := c.s.Image(i)
			for y := 4; y < 24; y++ {
				img.Data = append(img.Data, px[y*28+4:y*28+24]...)
			}
			lab.Data = append(lab.Data, c.s.Labels[i])
		}
		if err := idx.WriteFile(filepath.Join(dir, prefix+c.split+"-images-idx3-ubyte.gz"), img, true); err != nil {
			t.Fatal(err)
		}
		if err := idx.WriteFile(filepath.Join(dir, prefix+c.split+"-labels-idx1-ubyte.gz"), lab, true); err != nil {
			t.Fatal(err)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
