package l4balancer

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// The addresses a name resolves to share one port, so the backends here
// listen on 127.0.0.2, .3: Linux routes all of 127/8 to the loopback
// interface, other systems only 127.0.0.1 (hence the build constraint).

// tableResolver answers from a table the test sets.
type tableResolver struct {
	mu  sync.Mutex
	ips []netip.Addr
}

func (r *tableResolver) set(ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ips = nil
	for _, ip := range ips {
		r.ips = append(r.ips, netip.MustParseAddr(ip))
	}
}

func (r *tableResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if host != "svc.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return r.ips, nil
}

// useResolver makes the handler resolve dns_backends with r for this test.
func useResolver(t *testing.T, r l4lb.Resolver) {
	old := resolver
	resolver = r
	t.Cleanup(func() { resolver = old })
}

// hasSeries reports whether the l4lb_backend_up series of backend exists.
func hasSeries(t *testing.T, backend string) bool {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.Up)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "backend" && l.GetValue() == backend {
					return true
				}
			}
		}
	}
	return false
}

// Backends from DNS live in the same usage pool as fixed ones: across a
// reload an address that stays keeps its health, and one that left the
// answer leaves the pool and its metric series.
func TestDNSBackendsKeepStateAcrossReloads(t *testing.T) {
	r := &tableResolver{}
	useResolver(t, r)
	port := caddyrun.FreePort(t)
	addr2, addr3 := net.JoinHostPort("127.0.0.2", strconv.Itoa(port)), net.JoinHostPort("127.0.0.3", strconv.Itoa(port))
	backendOn(t, "127.0.0.2", addr2)
	three := backendOn(t, "127.0.0.3", addr3)
	r.set("127.0.0.2", "127.0.0.3")
	lbPort := caddyrun.FreePort(t)
	load := func(algorithm string) {
		t.Helper()
		handler := fmt.Sprintf(`{"handler":"caddysocial_balancer","name":"dns","algorithm":%q,"dns_backends":["svc.test:%d"],`+
			`"dns_refresh":"1h","health_check":{"interval":"1h"}}`, algorithm, port)
		cfg := fmt.Sprintf(`{"admin":{"disabled":true},"apps":{"layer4":{"servers":{"lb":{"listen":["127.0.0.1:%d"],`+
			`"routes":[{"handle":[%s]}]}}}}}`, lbPort, handler)
		if err := caddy.Load([]byte(cfg), true); err != nil {
			t.Fatal(err)
		}
	}
	load(l4lb.RoundRobin)
	t.Cleanup(func() { caddy.Stop() })
	lb := tcpAddr(lbPort)
	if got := dial(t, lb).backend + " " + dial(t, lb).backend; got != "127.0.0.2 127.0.0.3" {
		t.Fatalf("round robin over the resolved addresses: %s", got)
	}

	// .3 goes away: the next dial to it fails and takes it out.
	three.stop()
	for range 2 {
		if cl := dial(t, lb); cl.backend != "127.0.0.2" {
			t.Fatalf("went to %s", cl.backend)
		}
	}
	b2, b3 := pooledBackend(t, addr2), pooledBackend(t, addr3)
	if b3.Up() || !b2.Up() {
		t.Fatalf("up: .2 %v, .3 %v; want true, false", b2.Up(), b3.Up())
	}

	// A reload resolves again; both addresses stay, with their state.
	load(l4lb.LeastConn)
	if pooledBackend(t, addr2) != b2 || pooledBackend(t, addr3) != b3 || b3.Up() {
		t.Fatal("the reload lost the state of backends that stayed")
	}

	// The answer loses .3: after the next reload it is neither in the pool
	// nor in the metrics.
	r.set("127.0.0.2")
	load(l4lb.RoundRobin)
	found := false
	backendPool.Range(func(key, _ any) bool { found = found || key == addr3; return true })
	if found || hasSeries(t, addr3) {
		t.Fatalf("%s left the answer but is still in the pool (%v) or the metrics", addr3, found)
	}
	if !hasSeries(t, addr2) || pooledBackend(t, addr2) != b2 {
		t.Fatalf("%s stayed but lost its state or series", addr2)
	}
}
