// Package l4lb is the core of the platform's layer-4 (TCP) load balancer,
// free of Caddy: backends and their health, backends found by resolving
// names (DNS, for the pods behind a Kubernetes headless Service), the three
// selection algorithms, active health checks, the per-connection
// rate-limited copy with idle timeout, and the tracking of connections for
// a draining shutdown.
//
// The caddy-l4 handler (package l4lb/l4balancer, module
// layer4.handlers.caddysocial_balancer) and the config.yaml adapter
// (package l4lb/lbyaml) are thin layers over it.
//
// It logs through log/slog, like every other Caddy-free package of the
// platform (svckit and the services): the standard library's structured
// logger keeps the core usable and testable without Caddy's logging stack,
// and one API serves all Caddy-free code. Caddy bridges it to its own zap
// logs (caddy.Context.Slogger), so a balancer's lines keep Caddy's format
// and outputs; zap stays in the Caddy shells only.
package l4lb

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Backend is one upstream address and the state that outlives a config
// reload: its active connections (for leastconn and max_connections) and
// its health.
type Backend struct {
	Addr string

	active atomic.Int64
	up     atomic.Bool

	mu        sync.Mutex // guards the consecutive counters
	failures  int
	successes int
}

// NewBackend returns a backend that starts healthy.
func NewBackend(addr string) *Backend {
	b := &Backend{Addr: addr}
	b.up.Store(true)
	return b
}

// Up reports whether the backend is in the pool.
func (b *Backend) Up() bool { return b.up.Load() }

// Active is the number of connections being forwarded to it (and dials in
// progress).
func (b *Backend) Active() int64 { return b.active.Load() }

// full reports whether the backend has reached limit (0 = no limit).
func (b *Backend) full(limit int64) bool { return limit > 0 && b.active.Load() >= limit }

// acquire counts a new connection unless the backend already has limit of
// them (0 = no limit). It is exact under concurrent dials: the count is
// taken before dialing and given back by release.
func (b *Backend) acquire(limit int64) bool {
	if limit <= 0 {
		b.active.Add(1)
		return true
	}
	for {
		n := b.active.Load()
		if n >= limit {
			return false
		}
		if b.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *Backend) release() { b.active.Add(-1) }

// observe records a health-check result and reports whether Up changed.
func (b *Backend) observe(ok bool, fall, rise int) (changed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.failures = 0
		b.successes++
		if !b.up.Load() && b.successes >= rise {
			b.up.Store(true)
			return true
		}
		return false
	}
	b.successes = 0
	b.failures++
	if b.up.Load() && b.failures >= fall {
		b.up.Store(false)
		return true
	}
	return false
}

// markDown takes the backend out of the pool at once (a dial failed); the
// health check brings it back after rise successes.
func (b *Backend) markDown() (changed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.successes = 0
	return b.up.Swap(false)
}

// Dial connects to the backend within timeout. A host name is resolved at
// every dial, so that a container that comes back with a new address is
// found. (net.Dialer.DialTCP would skip the resolver for IP literals, but
// with no local address it binds the socket to the wildcard address before
// connecting, golang/go#81620: an extra system call and bind-time port
// allocation, which measured slower.)
func (b *Backend) Dial(timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", b.Addr, timeout)
}
