package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// signalListener signals when it is closed (shutdown has begun).
type signalListener struct {
	net.Listener
	closed     chan struct{}
	closedOnce sync.Once
}

func newSignalListener(t *testing.T) *signalListener {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &signalListener{Listener: inner, closed: make(chan struct{})}
}

func (l *signalListener) Close() error {
	err := l.Listener.Close()
	l.closedOnce.Do(func() { close(l.closed) })
	return err
}

// TestShutdownFinishesInFlight: a request whose body is still arriving when shutdown
// starts is answered in full; Serve then returns nil, and new connections are refused.
func TestShutdownFinishesInFlight(t *testing.T) {
	s := newServer(t, trainedModel(t), Options{})
	ln := newSignalListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	body := pixelsJSON(mnistTest.Image(0))
	half := len(body) / 2
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	conn.Write(body[:half])
	// Wait until the handler has the request (the connection is busy, its body still
	// arriving), not merely until its first bytes were read: a connection whose
	// request has not reached a handler is closed at shutdown, as one waiting for a
	// request.
	s.conns.await(func(open, waiting int) bool { return open == 1 && waiting == 0 })

	cancel()    // SIGTERM, as runServe sees it
	<-ln.closed // shutdown has begun
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("a new connection was accepted during shutdown")
	}
	conn.Write(body[half:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the in-flight answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	var p prediction
	if resp.StatusCode != 200 || json.Unmarshal(b, &p) != nil || p.Digit != int(mnistTest.Labels[0]) {
		t.Errorf("in-flight request: %s %s; want 200 predicting %d", resp.Status, b, mnistTest.Labels[0])
	}
	if err := <-served; err != nil { // Serve returns once the last request finished
		t.Errorf("Serve: %v, want nil after a graceful shutdown", err)
	}
}

// TestShutdownTimeout: a request that does not finish within ShutdownTimeout has its
// connection closed, and Serve says so.
func TestShutdownTimeout(t *testing.T) {
	// The handler outlives the test (Serve gives up on it): it must not log to t.
	s := newServer(t, trainedModel(t), Options{ShutdownTimeout: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln := newSignalListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	s.conns.await(func(open, waiting int) bool { return open == 1 && waiting == 0 }) // the handler has it
	cancel()
	if err := <-served; err == nil { // Serve returns when the shutdown timeout passes
		t.Errorf("Serve returned nil, want a shutdown timeout error")
	}
}
