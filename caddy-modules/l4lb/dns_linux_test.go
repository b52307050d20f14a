package l4lb

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The addresses a name resolves to share one port, so these tests listen on
// several loopback addresses (127.0.0.2, .3, ...): Linux routes all of
// 127/8 to the loopback interface, other systems only 127.0.0.1. Hence
// this file's build constraint.

// fakeResolver answers from a table the test changes; a name it does not
// have is NXDOMAIN.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr
	fail    error // returned for every lookup while set
	lookups int
}

func (r *fakeResolver) set(host string, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers = map[string][]netip.Addr{}
	}
	if ips == nil {
		delete(r.answers, host)
		return
	}
	r.answers[host] = nil
	for _, ip := range ips {
		r.answers[host] = append(r.answers[host], netip.MustParseAddr(ip))
	}
}

func (r *fakeResolver) failWith(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if network != "ip" {
		return nil, errors.New("unexpected network " + network)
	}
	if r.fail != nil {
		return nil, r.fail
	}
	ips, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ips, nil
}

// namedServers listens on port at each of ips; each server greets with its
// IP and echoes.
func namedServers(t *testing.T, port int, ips ...string) {
	t.Helper()
	for _, ip := range ips {
		greetingServer(t, net.JoinHostPort(ip, strconv.Itoa(port)), ip+"\n")
	}
}

// freePort is a port free on 127.0.0.1 (and so, in practice, on the other
// loopback addresses).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// countingStore hands out one Backend per address and counts references.
type countingStore struct {
	mu   sync.Mutex
	refs map[string]int
	byAd map[string]*Backend
}

func newCountingStore() *countingStore {
	return &countingStore{refs: map[string]int{}, byAd: map[string]*Backend{}}
}

func (s *countingStore) Acquire(addr string) (*Backend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byAd[addr] == nil {
		s.byAd[addr] = NewBackend(addr)
	}
	s.refs[addr]++
	return s.byAd[addr], nil
}

func (s *countingStore) Release(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs[addr]--
	if s.refs[addr] == 0 {
		delete(s.refs, addr)
		delete(s.byAd, addr)
	}
}

func (s *countingStore) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.refs {
		n += r
	}
	return n
}

// dnsLB serves a balancer whose only backends come from name:port, resolved
// by r (re-resolved only when the test calls refresh, unless refresh is
// short).
func dnsLB(t *testing.T, r Resolver, store BackendStore, port int, refresh time.Duration) (string, *Balancer) {
	t.Helper()
	conns := newConns(t)
	var bal *Balancer
	addr, _, _ := serveLB(t, "unused:1", conns, func(b *Balancer) {
		b.Backends = nil
		b.DNS = &DNS{Names: []string{"svc.test:" + strconv.Itoa(port)}, Refresh: refresh, Resolver: r, Store: store}
		b.Metrics = NewMetrics()
		b.HealthCheck.Rise = 1000 // what a test takes out stays out
		bal = b
	})
	return addr, bal
}

func addrsOf(bs []*Backend) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Addr)
	}
	return strings.Join(out, ",")
}

// A name resolving to several addresses is several backends; a new answer
// adds and removes backends while addresses that stay keep their state, and
// a connection to a removed backend goes on until it ends.
func TestDNSBackendsFollowTheAnswers(t *testing.T) {
	port := freePort(t)
	namedServers(t, port, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	r := &fakeResolver{}
	r.set("svc.test", "127.0.0.3", "127.0.0.2")
	store := newCountingStore()
	lb, bal := dnsLB(t, r, store, port, time.Hour)
	p := ":" + strconv.Itoa(port)

	if got := addrsOf(bal.Current()); got != "127.0.0.2"+p+",127.0.0.3"+p {
		t.Fatalf("backends after start: %s", got)
	}
	seen := map[string]int{}
	for range 4 {
		c, _, ip := via(t, lb)
		seen[ip]++
		c.Close()
	}
	if seen["127.0.0.2"] != 2 || seen["127.0.0.3"] != 2 {
		t.Fatalf("round robin over the two addresses: %v", seen)
	}

	// .3 is taken out (as a failed health check would); .2 carries an open
	// connection; the answer grows by .4.
	three := bal.Current()[1]
	three.markDown()
	held, heldR, ip := via(t, lb)
	if ip != "127.0.0.2" {
		t.Fatalf("went to %s with .3 down", ip)
	}
	r.set("svc.test", "127.0.0.2", "127.0.0.3", "127.0.0.4")
	bal.watcher.refresh(context.Background())
	cur := bal.Current()
	if addrsOf(cur) != "127.0.0.2"+p+",127.0.0.3"+p+",127.0.0.4"+p {
		t.Fatalf("backends after the answer grew: %s", addrsOf(cur))
	}
	if cur[1] != three || three.Up() {
		t.Fatal("the address that stayed lost its state (it was down)")
	}

	// .2 leaves the answer: no new connection goes there, the open one
	// still works.
	r.set("svc.test", "127.0.0.3", "127.0.0.4")
	bal.watcher.refresh(context.Background())
	if got := addrsOf(bal.Current()); got != "127.0.0.3"+p+",127.0.0.4"+p {
		t.Fatalf("backends after .2 left: %s", got)
	}
	for range 3 {
		c, _, ip := via(t, lb)
		if ip != "127.0.0.4" {
			t.Fatalf("a new connection went to %s (only .4 is up and listed)", ip)
		}
		c.Close()
	}
	if _, err := io.WriteString(held, "still there?\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := heldR.ReadString('\n'); err != nil || line != "still there?\n" {
		t.Fatalf("the connection to the removed backend was cut: %q, %v", line, err)
	}
	if store.held() != 2 {
		t.Fatalf("store holds %d references, want 2 (.3 and .4)", store.held())
	}
	bal.Stop()
	if store.held() != 0 {
		t.Fatalf("store holds %d references after Stop, want 0", store.held())
	}
}

// A failed lookup keeps the name's last addresses (and is counted); a name
// that no longer exists has none, so connections are closed at once.
func TestDNSLookupFailureKeepsNXDOMAINEmpties(t *testing.T) {
	port := freePort(t)
	namedServers(t, port, "127.0.0.2")
	r := &fakeResolver{}
	r.set("svc.test", "127.0.0.2")
	lb, bal := dnsLB(t, r, nil, port, time.Hour)

	r.failWith(&net.DNSError{Err: "i/o timeout", Name: "svc.test", IsTimeout: true})
	bal.watcher.refresh(context.Background())
	if len(bal.Current()) != 1 {
		t.Fatalf("a failed lookup changed the backends: %s", addrsOf(bal.Current()))
	}
	if _, _, ip := via(t, lb); ip != "127.0.0.2" {
		t.Fatalf("went to %s", ip)
	}
	name := "svc.test:" + strconv.Itoa(port)
	if n := testutil.ToFloat64(bal.Metrics.DNSFailures.WithLabelValues("t", name)); n != 1 {
		t.Fatalf("l4lb_dns_lookup_failures_total = %v, want 1", n)
	}

	r.failWith(nil)
	r.set("svc.test") // NXDOMAIN
	bal.watcher.refresh(context.Background())
	if len(bal.Current()) != 0 {
		t.Fatalf("backends of a name that is gone: %s", addrsOf(bal.Current()))
	}
	c, err := net.DialTimeout("tcp", lb, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("with no backend the connection must be closed at once, got %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Without the test's help, the balancer resolves again every dns_refresh.
func TestDNSReresolvesOnTheInterval(t *testing.T) {
	port := freePort(t)
	namedServers(t, port, "127.0.0.2", "127.0.0.3")
	r := &fakeResolver{}
	r.set("svc.test", "127.0.0.2")
	lb, bal := dnsLB(t, r, nil, port, 20*time.Millisecond)
	r.set("svc.test", "127.0.0.3")
	waitFor(t, "the new answer to replace the backend", func() bool {
		cur := bal.Current()
		return len(cur) == 1 && strings.HasPrefix(cur[0].Addr, "127.0.0.3:")
	})
	if _, _, ip := via(t, lb); ip != "127.0.0.3" {
		t.Fatalf("went to %s", ip)
	}
}

// A DNS address that is also a fixed backend is one backend, not two.
func TestDNSAddressAlsoFixedIsOneBackend(t *testing.T) {
	port := freePort(t)
	namedServers(t, port, "127.0.0.2", "127.0.0.3")
	r := &fakeResolver{}
	r.set("svc.test", "127.0.0.2", "127.0.0.3")
	store := newCountingStore()
	fixed := "127.0.0.2:" + strconv.Itoa(port)
	conns := newConns(t)
	_, bal, _ := serveLB(t, fixed, conns, func(b *Balancer) {
		b.DNS = &DNS{Names: []string{"svc.test:" + strconv.Itoa(port)}, Refresh: time.Hour, Resolver: r, Store: store}
		b.Log = slog.New(slog.DiscardHandler)
	})
	if got := addrsOf(bal.Current()); got != fixed+",127.0.0.3:"+strconv.Itoa(port) {
		t.Fatalf("backends: %s", got)
	}
	if store.held() != 1 {
		t.Fatalf("store holds %d, want 1", store.held())
	}
}
