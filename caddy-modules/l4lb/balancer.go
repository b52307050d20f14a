package l4lb

import (
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Balancer forwards client connections to its backends. One Balancer is one
// configuration; a reload builds a new one over the same Backend objects.
type Balancer struct {
	Name           string
	Backends       []*Backend // the fixed ones; DNS adds more (see DNS)
	DNS            *DNS       // optional: backends found by resolving names
	Selector       Selector
	BytesPerSec    float64 // per connection and direction; 0 = unlimited
	DialTimeout    time.Duration
	IdleTimeout    time.Duration // 0 = connections may idle forever
	MaxConnections int64         // per backend; 0 = unlimited
	HealthCheck    HealthCheck
	Metrics        *Metrics // optional
	Conns          *Conns
	Log            *slog.Logger

	checker *checker
	// set is what new connections choose from. It is replaced whole, never
	// changed, so the hot path reads it with one atomic load and no lock.
	set     atomic.Pointer[backendSet]
	watcher *dnsWatcher
}

// backendSet is the balancer's backends at one moment, with their metric
// children (resolved once per backend, not per connection).
type backendSet struct {
	list   []*Backend
	series map[*Backend]*backendSeries
}

// backendSeries are one backend's metric children.
type backendSeries struct {
	connections, toBackend, toClient, dialFailures prometheus.Counter
	active, up                                     prometheus.Gauge
}

// Start publishes the backends' state, resolves the DNS backends once and
// starts the health checks (and the re-resolution).
func (b *Balancer) Start() {
	if b.Log == nil {
		b.Log = slog.New(slog.DiscardHandler)
	}
	b.set.Store(&backendSet{})
	b.checker = startChecker(b.HealthCheck, nil, b.publishState, b.Log)
	b.publish(b.Backends)
	if b.DNS != nil {
		b.watcher = startDNSWatcher(b, b.DNS)
	}
}

// Stop ends the health checks and the re-resolution, and gives the DNS
// backends back to their store. Connections being forwarded are not
// touched.
func (b *Balancer) Stop() {
	if b.watcher != nil {
		b.watcher.stop()
	}
	if b.checker != nil {
		b.checker.stop()
	}
}

// publish makes list (fixed backends first, then the DNS ones) the set new
// connections choose from: backends new to the set get metric children and
// a health check, those that left lose their check. Connections already
// forwarded to a backend that left go on until they end.
func (b *Balancer) publish(list []*Backend) {
	old := b.set.Load()
	next := &backendSet{list: list, series: make(map[*Backend]*backendSeries, len(list))}
	for _, be := range list {
		if s := old.series[be]; s != nil {
			next.series[be] = s
		} else if m := b.Metrics; m != nil {
			next.series[be] = &backendSeries{
				connections:  m.Connections.WithLabelValues(b.Name, be.Addr),
				toBackend:    m.Bytes.WithLabelValues(b.Name, be.Addr, "client_to_backend"),
				toClient:     m.Bytes.WithLabelValues(b.Name, be.Addr, "backend_to_client"),
				dialFailures: m.DialFailures.WithLabelValues(b.Name, be.Addr),
				active:       m.Active.WithLabelValues(b.Name, be.Addr),
				up:           m.Up.WithLabelValues(b.Name, be.Addr),
			}
		}
	}
	b.set.Store(next)
	for _, be := range old.list {
		if !slices.Contains(list, be) {
			b.checker.remove(be)
		}
	}
	for _, be := range list {
		if !slices.Contains(old.list, be) {
			b.publishState(be)
			b.checker.add(be)
		}
	}
}

// Current is the list of backends new connections choose from.
func (b *Balancer) Current() []*Backend { return b.set.Load().list }

func (b *Balancer) publishState(be *Backend) {
	if s := b.set.Load().series[be]; s != nil {
		up := 0.0
		if be.Up() {
			up = 1
		}
		s.up.Set(up)
	}
}

// candidates are the healthy backends with room that were not tried yet for
// this connection.
func (b *Balancer) candidates(set *backendSet, tried []*Backend) []*Backend {
	out := make([]*Backend, 0, len(set.list))
	for _, be := range set.list {
		if be.Up() && !be.full(b.MaxConnections) && !slices.Contains(tried, be) {
			out = append(out, be)
		}
	}
	return out
}

// dial connects to a backend chosen for client, trying the next candidate
// whenever a dial fails (and taking the failed one out of the pool) or a
// backend filled up meanwhile. It returns nil when no backend could be
// reached; otherwise the backend's connection count includes this one, and
// s is its metric children (nil without metrics).
func (b *Balancer) dial(client netip.Addr) (conn net.Conn, be *Backend, s *backendSeries) {
	set := b.set.Load()
	var tried []*Backend
	for {
		cands := b.candidates(set, tried)
		if len(cands) == 0 {
			return nil, nil, nil
		}
		be := b.Selector.Select(cands, client)
		tried = append(tried, be)
		if !be.acquire(b.MaxConnections) {
			continue // filled up since candidates looked
		}
		conn, err := be.Dial(b.DialTimeout)
		if err == nil {
			return conn, be, set.series[be]
		}
		be.release()
		if s := set.series[be]; s != nil {
			s.dialFailures.Inc()
		}
		if be.markDown() {
			b.Log.Warn("backend down: dial failed", slog.String("backend", be.Addr), slog.Any("error", err))
			b.publishState(be)
		}
	}
}

// Serve forwards one client connection and returns when both directions
// have ended; it closes client. prefix holds bytes already read from the
// client (by an earlier matcher) that must reach the backend first.
//
// Pass the raw *net.TCPConn whenever possible: then bulk transfers are
// spliced by the kernel. Any other net.Conn (a TLS or recording wrapper)
// works, with every byte copied through user space.
func (b *Balancer) Serve(client net.Conn, prefix []byte) {
	defer client.Close()
	if !b.Conns.begin(client) {
		return // shutting down
	}
	defer b.Conns.end(client)
	var clientIP netip.Addr
	if a, ok := client.RemoteAddr().(*net.TCPAddr); ok {
		clientIP = a.AddrPort().Addr().Unmap()
	}
	backend, be, s := b.dial(clientIP)
	if backend == nil {
		// Every backend is down or full: close at once rather than leave
		// the client hanging.
		b.Log.Warn("no healthy backend with room; closing client connection", slog.String("client", client.RemoteAddr().String()))
		return
	}
	defer be.release()
	b.Conns.add(backend)
	defer b.Conns.forget(backend)
	defer backend.Close()

	if s != nil {
		s.connections.Inc()
		s.active.Inc()
		defer s.active.Dec()
	}
	var up, down int64
	if len(prefix) > 0 {
		n, err := backend.Write(prefix)
		up = int64(n)
		if err != nil {
			return
		}
	}
	u, d := pipe(client, backend, copyOptions{bytesPerSec: b.BytesPerSec, idleTimeout: b.IdleTimeout}, b.Conns.run)
	up, down = up+u, d
	if s != nil {
		s.toBackend.Add(float64(up))
		s.toClient.Add(float64(down))
	}
}

// MBps converts the configuration's MB/s (10^6 bytes) to bytes per second.
func MBps(rate float64) float64 { return rate * 1e6 }

// Label is the default balancer name for a listen port.
func Label(port int) string { return "lb:" + strconv.Itoa(port) }
