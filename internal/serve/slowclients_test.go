//go:build linux

package serve

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var slowConns = flag.Int("load.slow", 200, "TestSlowClients: slow (slowloris) connections held open during the load (2000 for BENCHMARKS.md)")

// envServeChild makes the test binary a server: with it set to a model path, TestMain's
// init serves that model on 127.0.0.1:0 with the default Options, prints the address,
// and serves until its standard input closes. TestSlowClients runs the server this way,
// in a process of its own, so that the memory it reads is the server's alone.
const envServeChild = "DIGITNET_TEST_SERVE_CHILD"

func init() {
	path := os.Getenv(envServeChild)
	if path == "" {
		return
	}
	SingleThreadedProducts()
	err := func() error {
		s, err := New(Files(path), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
		fmt.Println(ln.Addr())
		return s.Serve(ctx, ln)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// slowloris holds n connections open to addr, each sending one byte of a request
// header that never ends every second, and opens a new one for each the server closes.
// One goroutine drives them all, as an attacker's event loop would.
type slowloris struct {
	addr     string
	conns    []net.Conn
	reopened atomic.Int64
	stop     chan struct{}
	done     sync.WaitGroup
}

func startSlowloris(t *testing.T, addr string, n int) *slowloris {
	t.Helper()
	s := &slowloris{addr: addr, conns: make([]net.Conn, n), stop: make(chan struct{})}
	for i := range s.conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		c.Write([]byte("POST /v1/predict HTTP/1.1\r\n"))
		s.conns[i] = c
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			for i, c := range s.conns {
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				if _, err := c.Write([]byte("X")); err != nil {
					c.Close()
					if nc, err := net.Dial("tcp", s.addr); err == nil {
						nc.Write([]byte("POST /v1/predict HTTP/1.1\r\n"))
						s.conns[i] = nc
						s.reopened.Add(1)
					}
				}
			}
		}
	}()
	return s
}

func (s *slowloris) close() {
	close(s.stop)
	s.done.Wait()
	for _, c := range s.conns {
		c.Close()
	}
}

// procStatus reads a field of /proc/PID/status in kB.
func procStatus(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.Atoi(strings.Fields(rest)[0])
			return v
		}
	}
	return -1
}

// TestSlowClients: with -load.slow connections held by slowloris clients (headers
// dribbled a byte a second), normal clients still get every prediction. The server runs
// in its own process with the default Options; the test reports latency percentiles and
// the server's memory, and fails only on errors, never on timing:
//
//	go test -run TestSlowClients -v -count=1 ./internal/serve -args -load.slow=2000 -load.duration=30s
//
// Without flags it is a short smoke run with 200 slow connections.
func TestSlowClients(t *testing.T) {
	d := *loadDuration
	if d == 0 {
		d = 300 * time.Millisecond
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServeChild+"="+trainedModel(t))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the server shuts down
		if err := cmd.Wait(); err != nil {
			t.Errorf("server process: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the server printed no address: %v", err)
	}
	addr := strings.TrimSpace(line)
	pid := cmd.Process.Pid
	idleRSS := procStatus(pid, "VmRSS")

	slow := startSlowloris(t, addr, *slowConns)
	defer slow.close()
	url := "http://" + addr + "/v1/predict"
	r := runLoad(url, "application/json", pixelsJSON(mnistTest.Image(0)), *loadWorkers, d)

	open := -1
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "digitnet_connections_open "); ok {
				open, _ = strconv.Atoi(strings.TrimSpace(rest))
			}
		}
	}
	t.Logf("%d slow connections (%d reopened after the server closed them), %d normal workers for %v:", *slowConns, slow.reopened.Load(), *loadWorkers, d)
	t.Logf("  %d predictions, %.0f/s, p50 %s, p99 %s, max %s, %d errors", r.requests, float64(r.requests)/r.elapsed.Seconds(), ms(r.p50), ms(r.p99), ms(r.max), r.errors)
	t.Logf("  server: %d connections open at the end, memory %d MB idle, %d MB now, %d MB peak (VmRSS, VmHWM)",
		open, idleRSS>>10, procStatus(pid, "VmRSS")>>10, procStatus(pid, "VmHWM")>>10)
	if r.errors > 0 {
		t.Errorf("%d of %d requests failed; first: %s", r.errors, r.requests, r.firstError)
	}
	if r.requests == 0 {
		t.Error("no request completed")
	}
}
