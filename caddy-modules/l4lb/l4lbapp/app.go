// Package l4lbapp is the "l4lb" Caddy app: TCP load balancers built on the
// Caddy-free core in package l4lb. Listeners and backend state live in usage
// pools, so a config reload swaps the balancing rules without closing the
// listening socket or any connection being forwarded.
package l4lbapp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the l4lb app: one or more balancers.
type App struct {
	Balancers []*BalancerConfig `json:"balancers"`

	running []*running
	logger  *zap.Logger
}

// BalancerConfig is one balancer, as JSON.
type BalancerConfig struct {
	// The "lb" label of its metrics; default lb:<port>.
	Name string `json:"name,omitempty"`
	// Address to listen on, e.g. ":9001" (all interfaces).
	Listen string `json:"listen"`
	// roundrobin, leastconn or hashing.
	Algorithm string `json:"algorithm"`
	// Backends as host:port.
	Backends []string `json:"backends"`
	// MB/s (10^6 bytes) per connection and direction; 0 = unlimited.
	RateMBps float64 `json:"rate_mbps,omitempty"`
	// Active health checks; defaults: tcp every 2s, timeout 1s, fall 3, rise 2.
	HealthCheck *HealthCheckConfig `json:"health_check,omitempty"`
	// Timeout of a dial to a backend. Default 2s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`
	// At shutdown, how long established connections may finish. Default 10s.
	DrainTimeout caddy.Duration `json:"drain_timeout,omitempty"`
}

// HealthCheckConfig is the JSON form of l4lb.HealthCheck.
type HealthCheckConfig struct {
	Interval caddy.Duration `json:"interval,omitempty"`
	Timeout  caddy.Duration `json:"timeout,omitempty"`
	Fall     int            `json:"fall,omitempty"`
	Rise     int            `json:"rise,omitempty"`
	Type     string         `json:"type,omitempty"`
	Path     string         `json:"path,omitempty"`
}

type running struct {
	cfg      *BalancerConfig
	balancer *l4lb.Balancer
	server   *serverHandle
	drain    time.Duration
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "l4lb", New: func() caddy.Module { return new(App) }}
}

// The collectors are process-wide, so counters survive reloads; each config
// load registers them into its own registry.
var (
	metricsOnce sync.Once
	metrics     *l4lb.Metrics
)

// Provision builds each balancer and takes (or opens) its listener.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	metricsOnce.Do(func() { metrics = l4lb.NewMetrics() })
	for _, c := range metrics.Collectors() {
		if err := ctx.GetMetricsRegistry().Register(c); err != nil {
			if _, dup := errors.AsType[prometheus.AlreadyRegisteredError](err); !dup {
				return fmt.Errorf("l4lb: register metrics: %w", err)
			}
		}
	}
	for i, bc := range a.Balancers {
		r, err := a.provisionBalancer(bc)
		if err != nil {
			return fmt.Errorf("l4lb: balancers[%d] (%s): %w", i, bc.Listen, err)
		}
		a.running = append(a.running, r)
	}
	return nil
}

func (a *App) provisionBalancer(bc *BalancerConfig) (*running, error) {
	if bc.Listen == "" {
		return nil, errors.New("listen: an address such as :9001 is required")
	}
	sel, err := l4lb.NewSelector(bc.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("algorithm: %w", err)
	}
	if len(bc.Backends) == 0 {
		return nil, errors.New("backends: at least one backend is required")
	}
	if bc.RateMBps < 0 {
		return nil, fmt.Errorf("rate_mbps: must not be negative, got %v", bc.RateMBps)
	}
	hc := l4lb.DefaultHealthCheck
	if h := bc.HealthCheck; h != nil {
		setDuration(&hc.Interval, h.Interval)
		setDuration(&hc.Timeout, h.Timeout)
		if h.Fall > 0 {
			hc.Fall = h.Fall
		}
		if h.Rise > 0 {
			hc.Rise = h.Rise
		}
		if h.Type != "" {
			hc.Type = h.Type
		}
		if h.Path != "" {
			hc.Path = h.Path
		}
	}
	if hc.Type != "tcp" && hc.Type != "http" {
		return nil, fmt.Errorf("health_check.type: must be tcp or http, got %q", hc.Type)
	}
	name := bc.Name
	if name == "" {
		name = "lb" + bc.Listen
	}
	b := &l4lb.Balancer{
		Name:        name,
		Selector:    sel,
		BytesPerSec: l4lb.MBps(bc.RateMBps),
		DialTimeout: l4lb.DefaultDialTimeout,
		HealthCheck: hc,
		Metrics:     metrics,
		Log:         a.logger.With(zap.String("lb", name)),
	}
	setDuration(&b.DialTimeout, bc.DialTimeout)
	for _, addr := range bc.Backends {
		val, _, err := backendPool.LoadOrNew(addr, func() (caddy.Destructor, error) {
			return backendHandle{l4lb.NewBackend(addr)}, nil
		})
		if err != nil {
			return nil, err
		}
		b.Backends = append(b.Backends, val.(backendHandle).Backend)
	}
	srv, err := loadServer(bc.Listen, a.logger)
	if err != nil {
		releaseBackends(name, bc.Backends)
		return nil, err
	}
	drain := l4lb.DefaultDrainTimeout
	setDuration(&drain, bc.DrainTimeout)
	return &running{cfg: bc, balancer: b, server: srv, drain: drain}, nil
}

func setDuration(dst *time.Duration, v caddy.Duration) {
	if v > 0 {
		*dst = time.Duration(v)
	}
}

// Start switches each listener to this config's balancer and starts the
// health checks.
func (a *App) Start() error {
	for _, r := range a.running {
		r.balancer.Start()
		r.server.drain.Store(int64(r.drain))
		r.server.Server.SetBalancer(r.balancer)
		r.server.serveOnce.Do(r.server.Server.Serve)
		a.logger.Info("balancing", zap.String("lb", r.balancer.Name), zap.String("listen", r.cfg.Listen),
			zap.String("algorithm", r.cfg.Algorithm), zap.Strings("backends", r.cfg.Backends))
	}
	return nil
}

// Stop ends this config's health checks. Connections keep flowing: on a
// reload the next config owns the listener; at exit, Cleanup drains.
func (a *App) Stop() error {
	for _, r := range a.running {
		r.balancer.Stop()
	}
	return nil
}

// Cleanup releases this config's listeners and backends; the last user of a
// listener closes it and drains its connections (up to drain_timeout).
func (a *App) Cleanup() error {
	var errs []error
	for _, r := range a.running {
		if _, err := serverPool.Delete(r.cfg.Listen); err != nil {
			errs = append(errs, err)
		}
		releaseBackends(r.balancer.Name, r.cfg.Backends)
	}
	return errors.Join(errs...)
}

// releaseBackends drops this config's references; a backend no config uses
// any more loses its metrics series.
func releaseBackends(lb string, addrs []string) {
	for _, addr := range addrs {
		if deleted, _ := backendPool.Delete(addr); deleted {
			metrics.Forget(lb, addr)
		}
	}
}

// Usage pools: state that outlives one configuration.
var (
	serverPool  = caddy.NewUsagePool() // listen address -> *serverHandle
	backendPool = caddy.NewUsagePool() // backend address -> backendHandle
)

type backendHandle struct{ *l4lb.Backend }

func (backendHandle) Destruct() error { return nil }

type serverHandle struct {
	*l4lb.Server
	serveOnce sync.Once
	drain     atomic.Int64 // the running config's drain timeout
	logger    *zap.Logger
}

// Destruct runs when no config uses the listener any more: stop accepting
// and let established connections finish, for at most the drain timeout.
func (s *serverHandle) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.drain.Load()))
	defer cancel()
	if err := s.Server.Shutdown(ctx); err != nil {
		s.logger.Warn("l4lb: drain cut short", zap.String("listen", s.Addr().String()), zap.Error(err))
	}
	return nil
}

func loadServer(listen string, logger *zap.Logger) (*serverHandle, error) {
	val, _, err := serverPool.LoadOrNew(listen, func() (caddy.Destructor, error) {
		ln, err := l4lb.Listen(context.Background(), listen)
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		srv, err := l4lb.NewServer(ln, logger)
		if err != nil {
			ln.Close()
			return nil, err
		}
		return &serverHandle{Server: srv, logger: logger}, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(*serverHandle), nil
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
