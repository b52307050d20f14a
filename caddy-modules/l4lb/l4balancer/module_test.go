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
// closed; one that keeps talking (in one direction only) is not.
func TestIdleTimeoutClosesOnlyIdleConnections(t *testing.T) {
	be := newBackend(t, "a")
	const idle = 400 * time.Millisecond
	lb, _ := startLB(t, l4lb.RoundRobin, addrs(be), lbOptions{idleTimeout: idle})

	quiet := dial(t, lb.Addr())
	start := time.Now()
	quiet.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := quiet.r.ReadByte(); err == nil {
		t.Fatal("read a byte from an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the idle connection was never closed")
	}
	if took := time.Since(start); took < idle || took > 3*idle {
		t.Fatalf("idle connection closed after %v, want about %v (at most 1.5×, with slack for a busy machine)", took, idle)
	}

	// The client sends a byte every idle/4 and the backend echoes it; the
	// connection outlives several idle timeouts.
	busy := dial(t, lb.Addr())
	for i := range 12 {
		if _, err := io.WriteString(busy, "x"); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if b, err := busy.r.ReadByte(); err != nil || b != 'x' {
			t.Fatalf("echo %d: %q %v (closed though active)", i, b, err)
		}
		time.Sleep(idle / 4)
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
				if all, _ := io.ReadAll(c); len(all) > 0 {
					got <- string(all)
				}
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
	io.WriteString(c, "PING first part")
	time.Sleep(50 * time.Millisecond) // the matcher has read the first part by now
	io.WriteString(c, ", second part")
	c.(*net.TCPConn).CloseWrite()
	select {
	case s := <-got:
		if s != "PING first part, second part" {
			t.Fatalf("backend received %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("backend received nothing")
	}
}
