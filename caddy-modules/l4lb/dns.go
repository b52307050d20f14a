package l4lb

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// DNS makes backends of every address that some names resolve to, resolved
// again every Refresh: the pods behind a Kubernetes headless Service, which
// come and go as it scales. An address that stays keeps its Backend (health
// and connection count); one that leaves takes no new connections, and its
// established connections go on until they end.
//
// A lookup that fails (timeout, server failure) keeps that name's previous
// addresses: a DNS hiccup must not empty the pool. A name that does not
// exist (NXDOMAIN, as for a headless Service with no ready pod) has no
// addresses.
type DNS struct {
	Names    []string      // host:port
	Refresh  time.Duration // > 0
	Resolver Resolver      // nil: net.DefaultResolver
	Store    BackendStore  // nil: a fresh Backend for each new address
}

// Resolver looks up the addresses of a host; *net.Resolver is one, a test
// brings its own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// BackendStore hands out the Backend of an address, so that its state can
// outlive one Balancer (Caddy keeps it across reloads in a usage pool).
// Every Acquire is matched by one Release.
type BackendStore interface {
	Acquire(addr string) (*Backend, error)
	Release(addr string)
}

// maxLookupTimeout bounds one lookup (and Start, which resolves once).
const maxLookupTimeout = 2 * time.Second

// freshBackends is the BackendStore without sharing.
type freshBackends struct{}

func (freshBackends) Acquire(addr string) (*Backend, error) { return NewBackend(addr), nil }
func (freshBackends) Release(string)                        {}

// dnsWatcher resolves a balancer's DNS names on an interval and publishes
// the resulting backends. Its fields belong to its one goroutine (and to
// Start and Stop, which run before and after it).
type dnsWatcher struct {
	b        *Balancer
	cfg      DNS
	resolver Resolver
	store    BackendStore

	answers map[string][]string // name -> its last good addresses, as ip:port
	held    map[string]*Backend // address -> DNS backend taken from store
	cancel  context.CancelFunc
	done    chan struct{}
}

func startDNSWatcher(b *Balancer, cfg *DNS) *dnsWatcher {
	w := &dnsWatcher{b: b, cfg: *cfg, resolver: cfg.Resolver, store: cfg.Store,
		answers: map[string][]string{}, held: map[string]*Backend{}, done: make(chan struct{})}
	if w.resolver == nil {
		w.resolver = net.DefaultResolver
	}
	if w.store == nil {
		w.store = freshBackends{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	// At once, so a new balancer has its backends for its first connection.
	w.refresh(ctx)
	go w.loop(ctx)
	return w
}

func (w *dnsWatcher) loop(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.refresh(ctx)
		}
	}
}

// stop ends the loop and gives every held backend back to the store.
func (w *dnsWatcher) stop() {
	w.cancel()
	<-w.done
	for addr := range w.held {
		w.store.Release(addr)
	}
	clear(w.held)
}

// refresh resolves every name and publishes the backends when the set of
// addresses changed.
func (w *dnsWatcher) refresh(ctx context.Context) {
	want := map[string]bool{}
	for _, name := range w.cfg.Names {
		addrs, err := w.resolve(ctx, name)
		if ctx.Err() != nil {
			return // stopping
		}
		if err != nil {
			addrs = w.answers[name]
			w.b.Log.Warn("dns_backends: lookup failed; keeping the last addresses",
				slog.String("name", name), slog.Any("addresses", addrs), slog.Any("error", err))
			if m := w.b.Metrics; m != nil {
				m.DNSFailures.WithLabelValues(w.b.Name, name).Inc()
			}
		} else {
			w.answers[name] = addrs
		}
		for _, a := range addrs {
			want[a] = true
		}
	}
	fixed := map[string]bool{}
	for _, be := range w.b.Backends {
		fixed[be.Addr] = true // already a backend: not held twice
	}
	var added, removed []string
	for addr := range w.held {
		if !want[addr] || fixed[addr] {
			removed = append(removed, addr)
		}
	}
	for addr := range want {
		if fixed[addr] || w.held[addr] != nil {
			continue
		}
		be, err := w.store.Acquire(addr)
		if err != nil {
			w.b.Log.Error("dns_backends: backend state", slog.String("backend", addr), slog.Any("error", err))
			continue
		}
		w.held[addr] = be
		added = append(added, addr)
	}
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	for _, addr := range removed {
		delete(w.held, addr)
	}
	list := slices.Clone(w.b.Backends)
	for _, addr := range slices.Sorted(maps.Keys(w.held)) { // a stable order for round robin
		list = append(list, w.held[addr])
	}
	w.b.publish(list)
	// Only now that no new connection can choose them (their open
	// connections still hold them).
	for _, addr := range removed {
		w.store.Release(addr)
	}
	slices.Sort(added)
	slices.Sort(removed)
	w.b.Log.Info("dns_backends: backends changed", slog.Any("added", added), slog.Any("removed", removed))
}

// resolve returns the addresses of name (host:port) as sorted, distinct
// ip:port strings. A name that does not exist has none; other failures
// are errors.
func (w *dnsWatcher) resolve(ctx context.Context, name string) ([]string, error) {
	host, portStr, err := net.SplitHostPort(name)
	if err != nil {
		return nil, err // validated in Settings; kept for direct users
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, min(w.cfg.Refresh, maxLookupTimeout))
	defer cancel()
	ips, err := w.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		if dnsErr, ok := errors.AsType[*net.DNSError](err); ok && dnsErr.IsNotFound {
			return nil, nil
		}
		return nil, err
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
