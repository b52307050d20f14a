package l4balancer

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/mholt/caddy-l4/modules/l4regexp" // a matcher that reads bytes

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/l4lb"
	"github.com/caddysocial/platform/svckit/eventually"
)

// A hand-written layer4 JSON config gets the validation config.yaml gets:
// the same code checks both, and errors name the field.
func TestHandWrittenJSONIsValidatedLikeConfigYAML(t *testing.T) {
	cases := map[string]string{
		`"algorithm":"random","backends":["a:1"]`:                                 `algorithm: unknown algorithm "random"`,
		`"algorithm":"roundrobin","backends":[]`:                                  "backends: at least one",
		`"algorithm":"roundrobin","backends":["nohost"]`:                          `backends[0]: want host:port, got "nohost"`,
		`"algorithm":"roundrobin","backends":["a:0"]`:                             "backends[0]: port",
		`"algorithm":"roundrobin","backends":["a:1","a:1"]`:                       `backends[1]: "a:1" is listed twice`,
		`"algorithm":"roundrobin","backends":["a:1"],"rate":-1`:                   "rate: must be 0",
		`"algorithm":"hashing","backends":["a:1"],"health_check":{"type":"icmp"}`: "health_check.type",
		`"algorithm":"hashing","backends":["a:1"],"health_check":{"fall":0}`:      "health_check.fall: must be at least 1",
		`"algorithm":"hashing","backends":["a:1"],"health_check":{"rise":0}`:      "health_check.rise: must be at least 1",
		`"algorithm":"leastconn","backends":["a:1"],"dial_timeout":"soon"`:        "dial_timeout: want a positive duration",
		`"algorithm":"leastconn","backends":["a:1"],"idle_timeout":"-1s"`:         "idle_timeout: want a positive duration",
		`"algorithm":"leastconn","backends":["a:1"],"max_connections":-2`:         "max_connections: must be 0",
		`"algorithm":"leastconn","backends":["a:1"],"colour":"blue"`:              `unknown field "colour"`,
	}
	port := caddyrun.FreePort(t)
	for handler, want := range cases {
		cfg := fmt.Sprintf(`{"admin":{"disabled":true},"apps":{"layer4":{"servers":{"lb":{"listen":["127.0.0.1:%d"],`+
			`"routes":[{"handle":[{"handler":"caddysocial_balancer",%s}]}]}}}}}`, port, handler)
		err := caddy.Load([]byte(cfg), true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", handler, err, want)
		}
	}
	_ = caddy.Stop()
	backendPool.Range(func(key, _ any) bool {
		t.Errorf("backend %v is still in the pool after the refused configs", key)
		return true
	})
}

// A connection with no bytes in either direction for idle_timeout is
// closed, never before; one that keeps talking (in one direction only) is
// not. No upper bound on when the idle one closes: a loaded machine may be
// late, which is not a bug (the generous read deadline catches "never").
func TestIdleTimeoutClosesOnlyIdleConnections(t *testing.T) {
	be := newBackend(t, "a")
	const idle = 400 * time.Millisecond
	lb, _ := startLB(t, l4lb.RoundRobin, addrs(be), lbOptions{idleTimeout: idle})

	start := time.Now() // before the dial: the balancer's timer starts after it
	quiet := dial(t, lb.Addr())
	quiet.SetReadDeadline(time.Now().Add(eventually.Timeout))
	if _, err := quiet.r.ReadByte(); err == nil {
		t.Fatal("read a byte from an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the idle connection was never closed")
	}
	if took := time.Since(start); took < idle {
		t.Fatalf("idle connection closed after %v, before idle_timeout %v", took, idle)
	}

	// The client sends a byte every idle/8 and the backend echoes it, until
	// the connection has lived through three idle timeouts. A close is a
	// failure unless this goroutine itself stalled for idle/2 or more
	// between two bytes (a very busy machine): then the close may be right,
	// and the test starts again on a new connection.
	for attempt := 1; ; attempt++ {
		busy := dial(t, lb.Addr())
		last, lived, closed := time.Now(), time.Duration(0), false
		for lived < 3*idle {
			_, err := io.WriteString(busy, "x")
			var b byte
			if err == nil {
				b, err = busy.r.ReadByte()
			}
			now := time.Now()
			if err != nil || b != 'x' {
				if gap := now.Sub(last); gap < idle/2 || attempt == 5 {
					t.Fatalf("echo after %v of activity, %v since the last byte: %q %v (closed though active)", lived, gap, b, err)
				}
				closed = true
				break
			}
			lived += now.Sub(last)
			last = now
			time.Sleep(idle / 8)
		}
		if !closed {
			return
		}
	}
}

// Without idle_timeout a silent connection stays open.
func TestNoIdleTimeoutByDefault(t *testing.T) {
	be := newBackend(t, "a")
	lb, _ := startLB(t, l4lb.RoundRobin, addrs(be), lbOptions{})
	c := dial(t, lb.Addr())
	time.Sleep(500 * time.Millisecond)
	io.WriteString(c, "y")
	if b, err := c.r.ReadByte(); err != nil || b != 'y' {
		t.Fatalf("after 500ms of silence: %q %v", b, err)
	}
}

// max_connections: a full backend is skipped like a down one, counts go
// down when connections close, and with every backend full a client is
// closed at once.
func TestMaxConnectionsPerBackend(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	lb, st := startLB(t, l4lb.LeastConn, addrs(a, b), lbOptions{maxConnections: 2})
	var open []*client
	for range 4 {
		open = append(open, dial(t, lb.Addr()))
	}
	if st.Backends[0].Active() != 2 || st.Backends[1].Active() != 2 {
		t.Fatalf("active a=%d b=%d, want 2 and 2", st.Backends[0].Active(), st.Backends[1].Active())
	}
	// Both full: the fifth client is closed at once, not left waiting.
	c, err := net.Dial("tcp", lb.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a fifth connection got data with both backends full")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the fifth connection was left hanging")
	}
	c.Close()
	if !st.Backends[0].Up() || !st.Backends[1].Up() {
		t.Fatal("a full backend was marked down")
	}
	// One of a's connections ends: the next client goes to a.
	var onA *client
	for _, cl := range open {
		if cl.backend == "a" {
			onA = cl
		}
	}
	onA.Close()
	waitFor(t, "a's count to go down", func() bool { return st.Backends[0].Active() == 1 })
	if cl := dial(t, lb.Addr()); cl.backend != "a" {
		t.Fatalf("went to %s, want a (b is full)", cl.backend)
	}
}

// Exact under concurrency: 20 clients at once against 2 backends of at
// most 3 connections each get exactly 6 through.
func TestMaxConnectionsIsExactUnderConcurrentDials(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	lb, st := startLB(t, l4lb.RoundRobin, addrs(a, b), lbOptions{maxConnections: 3})
	results := make(chan bool, 20)
	for range 20 {
		go func() {
			c, err := net.Dial("tcp", lb.Addr().String())
			if err != nil {
				results <- false
				return
			}
			t.Cleanup(func() { c.Close() })
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err = c.Read(make([]byte, 1))
			results <- err == nil
		}()
	}
	through := 0
	for range 20 {
		if <-results {
			through++
		}
	}
	if through != 6 || st.Backends[0].Active()+st.Backends[1].Active() != 6 {
		t.Fatalf("%d clients got through (active %d+%d), want exactly 6", through, st.Backends[0].Active(), st.Backends[1].Active())
	}
}

// Bytes a matcher read before the handler ran reach the backend first, and
// the rest of the stream follows on the raw connection.
func TestBytesReadByAMatcherReachTheBackendFirst(t *testing.T) {
	const first = "PING first part"
	firstSeen := make(chan string, 1)
	got := make(chan string, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for { // the first health check connects too, and sends nothing
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var buf []byte
				chunk := make([]byte, 64)
				for len(buf) < len(first) {
					n, err := c.Read(chunk)
					buf = append(buf, chunk[:n]...)
					if err != nil {
						break
					}
				}
				if len(buf) == 0 {
					return
				}
				firstSeen <- string(buf)
				rest, _ := io.ReadAll(c)
				got <- string(buf) + string(rest)
			}()
		}
	}()
	handler := fmt.Sprintf(`{"handler":"caddysocial_balancer","name":"test","algorithm":"roundrobin","backends":[%q],`+
		`"health_check":{"interval":"1h"}}`, ln.Addr().String())
	port := caddyrun.FreePort(t)
	cfg := fmt.Sprintf(`{"admin":{"disabled":true},"apps":{"layer4":{"servers":{"lb":{"listen":["127.0.0.1:%d"],`+
		`"routes":[{"match":[{"regexp":{"pattern":"^PING","count":4}}],"handle":[%s]}]}}}}}`, port, handler)
	if err := caddy.Load([]byte(cfg), true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caddy.Stop() })
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, first)
	// The backend has the first part, so the matcher read it and the handler
	// replayed it: only now does the rest of the stream exist.
	select {
	case s := <-firstSeen:
		if s != first {
			t.Fatalf("backend received %q first, want %q", s, first)
		}
	case <-time.After(eventually.Timeout):
		t.Fatal("backend received nothing")
	}
	io.WriteString(c, ", second part")
	c.(*net.TCPConn).CloseWrite()
	select {
	case s := <-got:
		if s != "PING first part, second part" {
			t.Fatalf("backend received %q", s)
		}
	case <-time.After(eventually.Timeout):
		t.Fatal("backend received nothing more")
	}
}
