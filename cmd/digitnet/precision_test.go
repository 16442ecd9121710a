package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/internal/kernels"
)

// TestPrecisionInt8: eval, predict and the usage checks of --precision. The int8 model
// scores within a few tenths of a point of the float32 one on the whole test set and
// reads a drawn digit; a precision that does not exist is a usage error. Where int8
// cannot run, the command says so and runs fp32.
func TestPrecisionInt8(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if code, _, errOut := digitnet("train", "--train-limit", "5000", "--epochs", "2", "--progress", "none", "--out", path); code != 0 {
		t.Fatalf("train: %s", errOut)
	}
	eval := func(precision string) (evalReport, string) {
		code, out, errOut := digitnet("eval", "--model", path, "--json", "--precision", precision)
		var rep evalReport
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
			t.Fatalf("eval --precision %s: exit %d %s %s", precision, code, out, errOut)
		}
		return rep, errOut
	}
	fp32, _ := eval("fp32")
	int8, errOut := eval("int8")
	if err := kernels.Int8(); err != nil {
		if int8.Precision != "fp32" || !strings.Contains(errOut, "--precision int8: ") {
			t.Errorf("int8 unavailable (%v): precision %q, stderr %q; want fp32 and a note", err, int8.Precision, errOut)
		}
		return
	}
	if fp32.Precision != "fp32" || int8.Precision != "int8" {
		t.Errorf("reports say precision %q and %q, want fp32 and int8", fp32.Precision, int8.Precision)
	}
	if d := math.Abs(int8.Accuracy - fp32.Accuracy); d > 0.003 {
		t.Errorf("int8 accuracy %.4f, fp32 %.4f: more than 0.3 points apart", int8.Accuracy, fp32.Accuracy)
	}

	img := filepath.Join(dir, "seven.png")
	var buf bytes.Buffer
	_ = png.Encode(&buf, render(7, page{w: 200, h: 200, x0: 60, y0: 30, size: 140, paper: 250, ink: 20, pen: 9}))
	if err := os.WriteFile(img, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := digitnet("predict", "--model", path, "--precision", "int8", "--json", img)
	var p struct{ Digit *int }
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || p.Digit == nil || *p.Digit != 7 {
		t.Errorf("predict --precision int8 of a drawn 7: exit %d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{{"eval"}, {"predict", img}, {"serve"}} {
		cmd := args[0]
		code, _, errOut := digitnet(append(args, "--precision", "fp16")...)
		if code != 2 || !strings.Contains(errOut, `--precision "fp16": want fp32 or int8`) {
			t.Errorf("%s --precision fp16: exit %d %q, want 2 and the usage error", cmd, code, errOut)
		}
	}
}

// TestTrainBF16: train --precision bf16 says it trains with bf16 products and ends
// within a few tenths of a point of the float32 run, for the default MLP and (its
// convolutions in bf16 too) the default CNN; a precision that does not exist is a
// usage error.
func TestTrainBF16(t *testing.T) {
	needMNIST(t)
	for _, tc := range []struct {
		args []string
		tol  float64
	}{
		{[]string{"--train-limit", "5000", "--epochs", "2"}, 0.005},
		{[]string{"--model", "cnn", "--train-limit", "2000", "--epochs", "1", "--augment", "none"}, 0.02},
	} {
		acc := func(precision string) (float64, string) {
			args := append(append([]string{"train"}, tc.args...), "--json", "--progress", "none", "--precision", precision)
			code, out, errOut := digitnet(args...)
			if code != 0 {
				t.Fatalf("train %v --precision %s: exit %d %s", tc.args, precision, code, errOut)
			}
			evs := parseEvents(t, out)
			return *evs[len(evs)-1].TestAccuracy, errOut
		}
		fp32, _ := acc("fp32")
		bf16, errOut := acc("bf16")
		if err := kernels.BF16(); err != nil {
			if !strings.Contains(errOut, "--precision bf16: ") || bf16 != fp32 {
				t.Errorf("%v: bf16 unavailable (%v): accuracy %.4f against %.4f, stderr %q; want the fp32 run and a note", tc.args, err, bf16, fp32, errOut)
			}
		} else if !strings.Contains(errOut, "bf16 products") || math.Abs(bf16-fp32) > tc.tol {
			t.Errorf("%v: bf16 run: accuracy %.4f against fp32's %.4f, stderr %q", tc.args, bf16, fp32, errOut)
		}
	}
	if code, _, errOut := digitnet("train", "--precision", "int8"); code != 2 || !strings.Contains(errOut, `--precision "int8": want fp32 or bf16`) {
		t.Errorf("train --precision int8: exit %d %q, want 2 and the usage error", code, errOut)
	}
}

// TestPrecisionFallback: where oneDNN's int8 and bf16 cannot run (DIGITNET_ONEDNN=off
// stands in for a CPU without the instructions), --precision bf16 and int8 say so in
// one line and give the fp32 results.
func TestPrecisionFallback(t *testing.T) {
	t.Parallel() // processes of their own, on one thread
	needMNIST(t)
	bin := buildDigitnet(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	runBin := func(off bool, args ...string) (string, string) {
		cmd := exec.Command(bin, args...)
		if off {
			cmd.Env = append(os.Environ(), "DIGITNET_ONEDNN=off")
		}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	train := []string{"train", "--threads", "1", "--train-limit", "3000", "--test-limit", "1000", "--epochs", "1", "--progress", "none"}
	fp32, _ := runBin(false, append(train, "--out", path)...)
	off, errOut := runBin(true, append(train, "--precision", "bf16")...)
	if !strings.Contains(errOut, "--precision bf16: kernels: oneDNN turned off (DIGITNET_ONEDNN=off); training in fp32") || !strings.Contains(off, "fp32 products") {
		t.Errorf("train --precision bf16 without oneDNN: stdout %q, stderr %q", off, errOut)
	}
	accuracy := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "test accuracy: ") {
				return strings.Fields(l)[2]
			}
		}
		return "none"
	}
	if a, b := accuracy(off), accuracy(fp32); a != b || a == "none" {
		t.Errorf("bf16 without oneDNN reached test accuracy %s, the fp32 run %s: want the same", a, b)
	}
	// --conv direct without oneDNN: a note, and the run --conv portable gives.
	cnn := []string{"train", "--model", "cnn", "--augment", "none", "--threads", "1", "--train-limit", "600", "--test-limit", "300", "--epochs", "1", "--progress", "none"}
	direct, errOut := runBin(true, append(cnn, "--conv", "direct")...)
	portable, _ := runBin(true, append(cnn, "--conv", "portable")...)
	if !strings.Contains(errOut, "--conv direct: kernels: oneDNN turned off (DIGITNET_ONEDNN=off); training with Winograd and im2col") {
		t.Errorf("train --conv direct without oneDNN: stderr %q, want a note", errOut)
	}
	if a, b := accuracy(direct), accuracy(portable); a != b || a == "none" {
		t.Errorf("--conv direct without oneDNN reached test accuracy %s, --conv portable %s: want the same", a, b)
	}
	if ver, _ := runBin(true, "version"); !strings.Contains(ver, "bf16 (train --precision bf16): not on this machine: kernels: oneDNN turned off") ||
		!strings.Contains(ver, "int8 (--precision int8): not on this machine") ||
		!strings.Contains(ver, "fp32 direct convolutions (train --conv auto, direct): not on this machine") {
		t.Errorf("version without oneDNN:\n%s\nwant bf16, int8 and the direct convolutions said to be unavailable", ver)
	}
	out, errOut := runBin(true, "eval", "--model", path, "--precision", "int8", "--json")
	var rep evalReport
	if json.Unmarshal([]byte(out), &rep) != nil || rep.Precision != "fp32" || !strings.Contains(errOut, "--precision int8: kernels: oneDNN turned off") {
		t.Errorf("eval --precision int8 without oneDNN: %s, stderr %q; want precision fp32 and a note", out, errOut)
	}
}
