//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
)

// serveModel writes an untrained MLP with the given hidden width to path.
func serveModel(t *testing.T, path string, hidden int) {
	t.Helper()
	spec := nn.MLP{Sizes: []int{784, hidden, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Spec()
	net, err := spec.Build(rand.New(rand.NewPCG(1, uint64(hidden))))
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Model{Arch: spec, Net: net, Input: model.Input{Scale: 1.0 / 255}, Dataset: "mnist",
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	if err := model.Save(path, m); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is an io.Writer safe to read while runServe writes to it, and to wait on
// for what it will be written.
type lockedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	written sync.Cond // on mu
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written.L == nil {
		l.written.L = &l.mu
	}
	defer l.written.Broadcast()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor blocks until what was written, from byte from on, matches re, and returns the
// match and the length written so far.
func (l *lockedBuffer) waitFor(re *regexp.Regexp, from int) (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written.L == nil {
		l.written.L = &l.mu
	}
	for {
		s := l.b.String()
		if m := re.FindString(s[from:]); m != "" {
			return m, len(s)
		}
		l.written.Wait()
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	good := filepath.Join(t.TempDir(), "m.safetensors")
	serveModel(t, good, 8)
	garbage := filepath.Join(t.TempDir(), "garbage.safetensors")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	tests := []struct {
		name  string
		args  []string
		usage bool   // a usage error (exit 2)
		want  string // in the message
	}{
		{"confidence above 1", []string{"--min-confidence", "2"}, true, "--min-confidence 2: want at most 1"},
		{"positional argument", []string{"--model", good, "extra"}, true, `unexpected argument "extra"`},
		{"zero in flight", []string{"--model", good, "--max-inflight", "0"}, true, "--max-inflight 0: want a positive value"},
		{"negative timeout", []string{"--model", good, "--queue-timeout", "-1s"}, true, "--queue-timeout -1s"},
		{"not a model", []string{"--model", garbage}, false, "garbage.safetensors"},
		{"bad address", []string{"--model", good, "--addr", "256.0.0.1:http"}, false, "256.0.0.1"},
		{"weights for one model", []string{"--model", good, "--weights", "1"}, true, "--weights: --model names one model"},
		{"weights miscounted", []string{"--model", good + "," + good, "--weights", "1,2,3"}, true, "3 weights for 2 members"},
		{"weights not numbers", []string{"--model", good + "," + good, "--weights", "1,x"}, true, `"x" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runServe(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("runServe succeeded, want an error")
			}
			if errors.Is(err, errUsage) != tt.usage || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q (usage error: %v), want one containing %q (usage error: %v)", err, errors.Is(err, errUsage), tt.want, tt.usage)
			}
		})
	}
}

// TestServeCommand runs the command as main does: it prints its URL, answers, reloads
// the model file on a real SIGHUP, and returns nil when its context ends (SIGINT).
func TestServeCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "served.safetensors")
	serveModel(t, path, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	url, done := startServe(t, ctx, []string{"--model", path, "--addr", "127.0.0.1:0", "--verbose"}, &stdout, &stderr)
	get := func(route string) string {
		resp, err := http.Get(url + route)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", route, resp.Status, b)
		}
		return string(b)
	}
	if h := get("healthz"); !strings.Contains(h, `"model":"served.safetensors"`) {
		t.Errorf("/healthz: %s", h)
	}
	if !strings.Contains(get("v1/model"), `"summary":"784-16-10 relu, softmax"`) {
		t.Errorf("/v1/model before reload: %s", get("v1/model"))
	}
	body := `{"pixels":[` + strings.TrimSuffix(strings.Repeat("0,", 784), ",") + "]}"
	resp, err := http.Post(url+"v1/predict", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /v1/predict: %v %v", resp, err)
	}
	resp.Body.Close()

	// Replace the file and send SIGHUP: the new model is served once the reload is
	// logged.
	serveModel(t, path, 32)
	_, logged := stderr.waitFor(regexp.MustCompile(`listening`), 0)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	_, logged = stderr.waitFor(regexp.MustCompile(`model reload`), logged)
	if m := get("v1/model"); !strings.Contains(m, `"summary":"784-32-10 relu, softmax"`) {
		t.Fatalf("after SIGHUP, /v1/model is %s; stderr:\n%s", m, stderr.String())
	}
	// A broken file on SIGHUP keeps the model.
	os.WriteFile(path, []byte("broken"), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	stderr.waitFor(regexp.MustCompile(`model reload failed`), logged)
	if !strings.Contains(get("v1/model"), `"summary":"784-32-10 relu, softmax"`) {
		t.Errorf("after a bad reload, /v1/model is %s", get("v1/model"))
	}

	cancel()
	<-done // runServe returned; its error, if any, is in stdout
	if strings.Contains(stdout.String(), "failed:") {
		t.Errorf("runServe after its context ended: %s", stdout.String())
	}
	log := stderr.String()
	for _, want := range []string{"model loaded", "listening", "model reloaded", "model reload failed", "msg=request", "shut down"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// TestServeDefaultModel: without --model, serve answers with the pretrained model and
// reads numbers.
func TestServeDefaultModel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	url, done := startServe(t, ctx, []string{"--addr", "127.0.0.1:0"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "digitnet serve: pretrained on") {
		t.Errorf("serve printed %q, want it to name the pretrained model", stdout.String())
	}
	png, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seven.png"))
	if err != nil {
		t.Fatal(err)
	}
	for route, want := range map[string]string{"v1/predict": `"digit":7,`, "v1/read": `"text":"7"`} {
		resp, err := http.Post(url+route, "image/png", bytes.NewReader(png))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) || !strings.Contains(string(b), `"model":"pretrained`) {
			t.Errorf("POST /%s: %s %s, want %s from the pretrained model", route, resp.Status, b, want)
		}
	}
	cancel()
	<-done
}

// TestServeInt8: serve --precision int8 answers with the pretrained ensemble's dense
// layers in int8 (calibrated on MNIST's training images at start), reading the seven.
func TestServeInt8(t *testing.T) {
	needMNIST(t)
	if err := kernels.Int8(); err != nil {
		t.Skip(err) // TestPrecisionFallback covers the note and fp32
	}
	t.Parallel() // serve sets no process-wide threads: it can run beside the others
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	url, done := startServe(t, ctx, []string{"--addr", "127.0.0.1:0", "--precision", "int8"}, &stdout, &stderr)
	png, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seven.png"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"v1/predict", "image/png", bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"digit":7,`) {
		t.Errorf("POST /v1/predict with --precision int8: %s %s, want digit 7", resp.Status, b)
	}
	if resp, err = http.Get(url + "v1/model"); err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"precision":"int8"`) {
		t.Errorf("GET /v1/model with --precision int8 does not say so: %s", b)
	}
	cancel()
	<-done
}

// startServe runs runServe with args until ctx ends and returns its URL once printed,
// and a channel that yields once runServe returned (its error, if any, written to
// stdout as "failed: …"). A failure to start ends the test.
func startServe(t *testing.T, ctx context.Context, args []string, stdout, stderr *lockedBuffer) (string, chan error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, args, stdout, stderr) }()
	go func() { // a failure to start ends the test rather than the wait for the URL
		if err := <-done; err != nil {
			stdout.Write([]byte("failed: " + err.Error() + "\n"))
		}
		done <- nil
	}()
	url, _ := stdout.waitFor(regexp.MustCompile(`http://127\.0\.0\.1:\d+/|failed: .*`), 0)
	if strings.HasPrefix(url, "failed") {
		t.Fatalf("runServe %s; stderr:\n%s", url, stderr.String())
	}
	return url, done
}
