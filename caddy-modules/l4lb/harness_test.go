package l4lb

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// backend is a real TCP server: on each connection it sends its name and a
// newline, then echoes everything until the client half-closes, then
// half-closes too.
type backend struct {
	name string
	ln   net.Listener

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, ln: ln, conns: map[net.Conn]bool{}}
	b.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns[c] = true
			b.mu.Unlock()
			b.wg.Go(func() {
				defer c.Close()
				io.WriteString(c, name+"\n")
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c)
			})
		}
	})
	t.Cleanup(b.stop)
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

// stop closes the listener and every connection: the backend is gone.
func (b *backend) stop() {
	b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// lbOptions tweak a test balancer.
type lbOptions struct {
	bytesPerSec float64
	health      HealthCheck
	dialTimeout time.Duration // default 1s
}

// startLB runs a Server with a Balancer over addrs and returns both.
func startLB(t *testing.T, algorithm string, addrs []string, opt lbOptions) (*Server, *Balancer) {
	t.Helper()
	sel, err := NewSelector(algorithm)
	if err != nil {
		t.Fatal(err)
	}
	hc := opt.health
	if hc.Interval == 0 { // effectively no checks during a short test
		hc = HealthCheck{Interval: time.Hour, Timeout: time.Second, Fall: 3, Rise: 2, Type: "tcp"}
	}
	if opt.dialTimeout == 0 {
		opt.dialTimeout = time.Second
	}
	b := &Balancer{Name: "test", Selector: sel, BytesPerSec: opt.bytesPerSec, DialTimeout: opt.dialTimeout,
		HealthCheck: hc, Metrics: NewMetrics(), Log: zap.NewNop()}
	for _, a := range addrs {
		b.Backends = append(b.Backends, NewBackend(a))
	}
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(ln, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s.SetBalancer(b)
	b.Start()
	s.Serve()
	t.Cleanup(func() {
		b.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, b
}

// client is one connection through the balancer that has read the
// backend's greeting.
type client struct {
	net.Conn
	r       *bufio.Reader
	backend string
}

func dialFrom(t *testing.T, lb net.Addr, local string) *client {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", lb.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting through the balancer: %v", err)
	}
	return &client{Conn: c, r: r, backend: strings.TrimSpace(name)}
}

func dial(t *testing.T, lb net.Addr) *client { return dialFrom(t, lb, "") }

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func addrs(bs ...*backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.addr()
	}
	return out
}
