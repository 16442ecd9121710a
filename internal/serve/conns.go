package serve

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// conns bounds the open connections. Each one is either waiting (for its request's
// header, or idle between requests) or busy (its request is being handled). When a new
// connection arrives and max are open, the connection that has waited longest is closed
// to make room: a client that dribbles its header (slowloris) or holds an idle keep-alive
// connection gives way to one that sends a request. Only when every connection is busy
// is the new one answered 503 with Retry-After and closed. Nothing queues beyond max
// connections, and the kernel's accept backlog never fills behind a full server.
type conns struct {
	max     int
	mu      sync.Mutex
	open    map[net.Conn]*connState
	waiting list.List // of net.Conn, the longest waiting first
	onEvict func()    // counts evictions (metrics)
	onShed  func()    // counts 503s at accept (metrics)
	changed sync.Cond // on mu: broadcast at every change, for tests that wait for a state
}

type connState struct {
	elem *list.Element // in waiting; nil while busy
}

func newConns(max int) *conns {
	c := &conns{max: max, open: make(map[net.Conn]*connState), onEvict: func() {}, onShed: func() {}}
	c.changed.L = &c.mu
	return c
}

// connKey is the request context key of the request's connection.
type connKey struct{}

// listener admits connections through c.
type listener struct {
	net.Listener
	c *conns
}

// Accept returns the next admitted connection; the ones shed are answered and closed
// here, without a goroutine of their own.
func (l listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.c.admit(nc) {
			return nc, nil
		}
		l.c.onShed()
		shed(nc)
	}
}

// admit registers nc as waiting, closing the longest-waiting connection if max are open.
// It reports false when every open connection is busy.
func (c *conns) admit(nc net.Conn) bool {
	c.mu.Lock()
	var evict net.Conn
	if len(c.open) >= c.max {
		front := c.waiting.Front()
		if front == nil {
			c.mu.Unlock()
			return false
		}
		evict = front.Value.(net.Conn)
		c.removeLocked(evict)
	}
	c.open[nc] = &connState{elem: c.waiting.PushBack(nc)}
	c.changed.Broadcast()
	c.mu.Unlock()
	if evict != nil {
		c.onEvict()
		evict.Close() // its serving goroutine sees the error and ends
	}
	return true
}

// busy marks nc's request as being handled: it cannot be evicted until done.
func (c *conns) busy(nc net.Conn) {
	c.mu.Lock()
	if st, ok := c.open[nc]; ok && st.elem != nil {
		c.waiting.Remove(st.elem)
		st.elem = nil
		c.changed.Broadcast()
	}
	c.mu.Unlock()
}

// done marks nc as waiting again, newest in line.
func (c *conns) done(nc net.Conn) {
	c.mu.Lock()
	if st, ok := c.open[nc]; ok && st.elem == nil {
		st.elem = c.waiting.PushBack(nc)
		c.changed.Broadcast()
	}
	c.mu.Unlock()
}

// connState is the http.Server's ConnState hook: it forgets closed connections.
func (c *conns) connState(nc net.Conn, s http.ConnState) {
	if s == http.StateClosed || s == http.StateHijacked {
		c.mu.Lock()
		c.removeLocked(nc)
		c.mu.Unlock()
	}
}

func (c *conns) removeLocked(nc net.Conn) {
	if st, ok := c.open[nc]; ok {
		if st.elem != nil {
			c.waiting.Remove(st.elem)
		}
		delete(c.open, nc)
		c.changed.Broadcast()
	}
}

// await blocks until cond, called with the open and waiting counts, is true.
func (c *conns) await(cond func(open, waiting int) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond(len(c.open), c.waiting.Len()) {
		c.changed.Wait()
	}
}

// count is the number of open connections.
func (c *conns) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// shedAnswer is the whole answer to a connection turned away at accept.
var shedAnswer = func() []byte {
	body := `{"error":"server busy: every connection is in use; retry shortly"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// shed answers a connection that cannot be admitted and closes it. The write is bounded
// by a short deadline, so a client that does not read cannot hold the accept loop.
func shed(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	nc.Write(shedAnswer)
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.CloseWrite() // let the answer go out before the reset a close may cause
	}
	nc.Close()
}

// withConn stores a connection in its requests' context (http.Server.ConnContext).
func withConn(ctx context.Context, nc net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, nc)
}

// budget bounds a quantity shared by concurrent requests (bytes of request bodies held
// in memory). take never waits: what does not fit is refused at once.
type budget struct {
	max  int64
	used atomic.Int64
}

// take reserves n, reporting false (and reserving nothing) if that would pass max.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// closeWaiting closes every connection that is waiting for a request (shutdown: they
// have no request to finish, and would otherwise hold it up until their header timeout).
func (c *conns) closeWaiting() {
	c.mu.Lock()
	var close []net.Conn
	for e := c.waiting.Front(); e != nil; e = e.Next() {
		close = append(close, e.Value.(net.Conn))
	}
	c.mu.Unlock()
	for _, nc := range close {
		nc.Close()
	}
}
