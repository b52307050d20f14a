package l4balancer

import (
	"net"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddysocial/platform/caddy-modules/internal/promreg"
	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// Usage pools: state that outlives one configuration.
var (
	// backend address -> backendHandle: health and connection counts.
	backendPool = caddy.NewUsagePool()
	// balancer name + backend address -> seriesHandle: the metric series
	// of that pair, deleted when no configuration has the pair any more
	// (a renamed balancer or a removed backend leaves no stale series).
	seriesPool = caddy.NewUsagePool()
	// connsKey -> *connsHandle: every connection being forwarded.
	connsPool = caddy.NewUsagePool()
)

const connsKey = "conns"

type backendHandle struct{ *l4lb.Backend }

func (backendHandle) Destruct() error { return nil }

type seriesHandle struct{ lb, backend string }

func (s seriesHandle) Destruct() error {
	metrics.Forget(s.lb, s.backend)
	return nil
}

// loadBackend takes the shared state of addr and a reference to the metric
// series of (lb, addr).
func loadBackend(lb, addr string) (*l4lb.Backend, error) {
	val, _, err := backendPool.LoadOrNew(addr, func() (caddy.Destructor, error) {
		return backendHandle{l4lb.NewBackend(addr)}, nil
	})
	if err != nil {
		return nil, err
	}
	if _, _, err := seriesPool.LoadOrNew(lb+"\x00"+addr, func() (caddy.Destructor, error) {
		return seriesHandle{lb, addr}, nil
	}); err != nil {
		backendPool.Delete(addr)
		return nil, err
	}
	return val.(backendHandle).Backend, nil
}

func releaseBackend(lb, addr string) {
	backendPool.Delete(addr)
	seriesPool.Delete(lb + "\x00" + addr)
}

// pooledStore gives a balancer's DNS backends the same pooled state as its
// fixed ones, so an address that stays across a reload keeps its health.
type pooledStore struct{ lb string }

func (p pooledStore) Acquire(addr string) (*l4lb.Backend, error) { return loadBackend(p.lb, addr) }
func (p pooledStore) Release(addr string)                        { releaseBackend(p.lb, addr) }

// resolver resolves dns_backends; tests replace it with one they control.
var resolver l4lb.Resolver = net.DefaultResolver

// loadConns gets (or makes) the process's connection tracker; the core
// logs through ctx's slog logger, the shell through its zap logger.
func loadConns(ctx caddy.Context) (*connsHandle, error) {
	logger := ctx.Logger()
	val, _, err := connsPool.LoadOrNew(connsKey, func() (caddy.Destructor, error) {
		c, err := l4lb.NewConns(ctx.Slogger())
		if err != nil {
			return nil, err
		}
		return &connsHandle{Conns: c, logger: logger}, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(*connsHandle), nil
}

// The collectors are process-wide, so counters survive reloads; each config
// load registers them into its own registry.
var (
	metricsOnce sync.Once
	metrics     *l4lb.Metrics
)

func registerMetrics(ctx caddy.Context) (*l4lb.Metrics, error) {
	metricsOnce.Do(func() { metrics = l4lb.NewMetrics() })
	if err := promreg.Register(ctx.GetMetricsRegistry(), metrics.Collectors()...); err != nil {
		return nil, err
	}
	return metrics, nil
}
