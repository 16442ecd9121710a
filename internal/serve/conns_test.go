package serve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConnsEvictLongestWaiting: at the limit, a new connection closes the one that has
// waited longest for a request, never a busy one; with all busy it is refused.
func TestConnsEvictLongestWaiting(t *testing.T) {
	c := newConns(3)
	pipe := func() (server, client net.Conn) { return net.Pipe() }
	a, ac := pipe()
	b, bc := pipe()
	d, dc := pipe()
	for _, nc := range []net.Conn{a, b, d} {
		if !c.admit(nc) {
			t.Fatal("refused below the limit")
		}
	}
	c.busy(a) // a's request is being handled
	c.busy(b)
	c.done(b) // b went idle after a request: now the newest in line
	e, _ := pipe()
	if !c.admit(e) {
		t.Fatal("refused a connection while some were waiting")
	}
	// d waited longest (b moved to the back of the line, a is busy): d is closed.
	if _, err := dc.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the longest-waiting connection: read %v, want EOF (closed)", err)
	}
	for name, cl := range map[string]net.Conn{"busy": ac, "recently idle": bc} {
		cl.SetReadDeadline(time.Now()) // a read that would block returns at once
		if _, err := cl.Read(make([]byte, 1)); err == io.EOF {
			t.Errorf("the %s connection was closed", name)
		}
	}
	if n := c.count(); n != 3 {
		t.Errorf("%d open, want 3", n)
	}
	c.busy(b)
	c.busy(e)
	f, _ := pipe()
	if c.admit(f) {
		t.Error("admitted a connection with every open one busy")
	}
	c.connState(a, http.StateClosed)
	if n := c.count(); n != 2 || !c.admit(f) {
		t.Errorf("after a close: %d open, and the next not admitted", n)
	}
}

// serveOn runs s on a loopback listener until the test ends and returns its address.
func serveOn(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return ln.Addr().String()
}

// post sends a prediction request on a new connection and returns the answer.
func post(t *testing.T, addr string, body []byte) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestSlowlorisGivesWay: with every connection held by clients dribbling their headers,
// a client that sends a whole request is still answered: the longest-waiting slow
// connection is closed for it. The header timeout is long, so eviction is what is tested.
func TestSlowlorisGivesWay(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{MaxConns: 8, ReadHeaderTimeout: time.Hour})
	addr := serveOn(t, s)
	var slow []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("POST /v1/predict HTTP/1.1\r\nHo"))
		slow = append(slow, c)
	}
	// The kernel hands connections to Accept in the order they were made: the eight slow
	// ones are admitted before the request below, which evicts the first.
	resp, body := post(t, addr, pixelsJSON(mnistTest.Image(0)))
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`"digit":%d`, mnistTest.Labels[0])) {
		t.Fatalf("with 8 slow connections open: %s %s", resp.Status, body)
	}
	// Closed by the server: EOF, or a reset when the server had not read all it was
	// sent before closing (the kernel then answers with RST, not FIN) — which of the two
	// depends on how far the server's reader got, not on what the test checks.
	if _, err := slow[0].Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the longest-waiting slow connection: read %v, want EOF or a reset (closed)", err)
	}
	if v := metricValue(t, s, "digitnet_connections_evicted_total"); v < 1 {
		t.Errorf("digitnet_connections_evicted_total %v, want ≥ 1", v)
	}
}

// TestAllBusyGets503: when every connection is busy in a request, a new connection is
// answered 503 with Retry-After at once, not queued.
func TestAllBusyGets503(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{MaxConns: 2, RequestTimeout: time.Hour})
	addr := serveOn(t, s)
	for range 2 { // headers whole, body still to come: in the handler, reading it
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	}
	s.conns.await(func(open, waiting int) bool { return open == 2 && waiting == 0 })
	resp, body := post(t, addr, pixelsJSON(mnistTest.Image(0)))
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "every connection is in use") {
		t.Errorf("with every connection busy: %s, Retry-After %q, %s; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	if v := metricValue(t, s, "digitnet_connections_shed_total"); v != 1 {
		t.Errorf("digitnet_connections_shed_total %v, want 1", v)
	}
}

// TestSlowBodyTimesOut: a body that does not arrive within the request timeout gets 408
// and frees its connection.
func TestSlowBodyTimesOut(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{RequestTimeout: 200 * time.Millisecond})
	addr := serveOn(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil) // the answer comes when the server gives up
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || !strings.Contains(string(b), "did not arrive within the request timeout") {
		t.Errorf("a body that never arrives: %s %s; want 408", resp.Status, b)
	}
}

// TestBodyMemoryBudget: bodies beyond the memory budget are refused with 503, and the
// budget is returned after each request.
func TestBodyMemoryBudget(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{MaxBodyMemory: 8 << 10})
	small := pixelsJSON(mnistTest.Image(0)) // ~2 kB
	big := append(bytes.Repeat([]byte(" "), 16<<10), small...)
	for i := range 3 { // the budget comes back after each request
		if w := do(t, s, "POST", "/v1/predict", "application/json", small); w.Code != 200 {
			t.Fatalf("request %d within the budget: %d %s", i, w.Code, w.Body)
		}
	}
	w := do(t, s, "POST", "/v1/predict", "application/json", big)
	if w.Code != 503 || !strings.Contains(w.Body.String(), "request bodies in memory") {
		t.Errorf("a 18 kB body with an 8 kB budget: %d %s; want 503", w.Code, w.Body)
	}
	if used := s.bodies.used.Load(); used != 0 {
		t.Errorf("%d bytes of the budget still held after every request ended", used)
	}
}
