package l4balancer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/l4lb"
	"github.com/caddysocial/platform/svckit/eventually"
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

func newBackend(t *testing.T, name string) *backend { return backendOn(t, name, "127.0.0.1:0") }

// backendOn is a backend named name listening on addr.
func backendOn(t *testing.T, name, addr string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
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
	bytesPerSec    float64
	health         l4lb.HealthCheck
	dialTimeout    time.Duration // default 1s
	idleTimeout    time.Duration
	maxConnections int64
}

// lbUnderTest is a balancer running in this process's Caddy.
type lbUnderTest struct{ addr *net.TCPAddr }

func (l lbUnderTest) Addr() net.Addr { return l.addr }

// lbState shows the balancer's shared state: its backends (from the usage
// pool, in configuration order) and the process-wide metrics.
type lbState struct {
	Backends []*l4lb.Backend
	Metrics  *l4lb.Metrics
}

// testSpec is the handler configuration startLB loads.
func testSpec(algorithm string, addrs []string, opt lbOptions) l4lb.Spec {
	hc := opt.health
	if hc.Interval == 0 { // effectively no checks during a short test
		hc = l4lb.HealthCheck{Interval: time.Hour, Timeout: time.Second, Fall: 3, Rise: 2, Type: "tcp"}
	}
	if opt.dialTimeout == 0 {
		opt.dialTimeout = time.Second
	}
	spec := l4lb.Spec{
		Name: "test", Algorithm: algorithm, Backends: addrs, Rate: opt.bytesPerSec / 1e6,
		DialTimeout:    opt.dialTimeout.String(),
		MaxConnections: opt.maxConnections,
		HealthCheck: &l4lb.HealthCheckSpec{Interval: hc.Interval.String(), Timeout: hc.Timeout.String(),
			Fall: &hc.Fall, Rise: &hc.Rise, Type: hc.Type, Path: hc.Path},
	}
	if opt.idleTimeout > 0 {
		spec.IdleTimeout = opt.idleTimeout.String()
	}
	return spec
}

// layer4Config is a Caddy JSON config: a layer4 server on 127.0.0.1:port
// whose one route hands every connection to the balancer spec.
func layer4Config(t *testing.T, port int, spec l4lb.Spec) []byte {
	t.Helper()
	handler, err := json.Marshal(struct {
		Handler string `json:"handler"`
		l4lb.Spec
	}{"caddysocial_balancer", spec})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, `{"admin":{"disabled":true},"apps":{"layer4":{"servers":{"lb":{`+
		`"listen":["127.0.0.1:%d"],"routes":[{"handle":[%s]}]}}}}}`, port, handler)
}

// startLB runs the balancer handler over addrs in a real Caddy (caddy-l4's
// layer4 app) and returns it with a view of its state.
func startLB(t *testing.T, algorithm string, addrs []string, opt lbOptions) (lbUnderTest, *lbState) {
	t.Helper()
	port := caddyrun.FreePort(t)
	if err := caddy.Load(layer4Config(t, port, testSpec(algorithm, addrs, opt)), true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caddy.Stop() })
	st := &lbState{Metrics: metrics}
	for _, a := range addrs {
		st.Backends = append(st.Backends, pooledBackend(t, a))
	}
	return lbUnderTest{tcpAddr(port)}, st
}

func tcpAddr(port int) *net.TCPAddr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port} }

// pooledBackend is the shared state of the backend at addr.
func pooledBackend(t *testing.T, addr string) *l4lb.Backend {
	t.Helper()
	var found *l4lb.Backend
	backendPool.Range(func(key, value any) bool {
		if key == addr {
			found = value.(backendHandle).Backend
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("backend %s is not in the pool", addr)
	}
	return found
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

// waitFor waits for cond (svckit/eventually: a long deadline, reached only
// when the test is failing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventually.True(t, 0, what, cond)
}

func addrs(bs ...*backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.addr()
	}
	return out
}
