// Package l4balancer is the layer4.handlers.caddysocial_balancer module: the platform's
// TCP load balancer as a terminal handler of caddy-l4's layer4 app, over the
// Caddy-free core in package l4lb. caddy-l4 listens and accepts; this
// handler picks a backend, dials it and forwards the bytes.
//
// State that must outlive a configuration lives in usage pools: backends
// (health and connection counts) by address, metric series by balancer and
// backend, and the process's open connections, which the last configuration
// to go drains for at most drain_timeout.
//
// The fast path: when the client connection reaches the handler as a raw
// *net.TCPConn (no TLS or other wrapping handler before it), bytes that
// caddy-l4 already read for matching are sent first and then the two TCP
// connections are copied directly, so Go uses splice(2) for bulk transfers.
// Behind a wrapping handler every byte goes through user space.
package l4balancer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/mholt/caddy-l4/layer4"
	"go.uber.org/zap"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is a layer-4 load balancer. Its JSON keys are those of a
// balancer's config.yaml (see l4lb.Spec); both are validated by the same
// code.
type Handler struct {
	l4lb.Spec

	balancer *l4lb.Balancer
	conns    *connsHandle
	loaded   []string // backend addresses taken from the pool
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "layer4.handlers.caddysocial_balancer", New: func() caddy.Module { return new(Handler) }}
}

// Provision validates the configuration, takes the backends' state from the
// pool (so health survives a reload) and starts the health checks.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	s, err := h.Spec.Settings()
	if err != nil {
		return err
	}
	m, err := registerMetrics(ctx)
	if err != nil {
		return err
	}
	sel, err := l4lb.NewSelector(s.Algorithm)
	if err != nil {
		return fmt.Errorf("algorithm: %w", err)
	}
	conns, err := loadConns(ctx)
	if err != nil {
		return err
	}
	h.conns = conns
	conns.drain.Store(int64(s.DrainTimeout)) // the newest configuration's
	b := &l4lb.Balancer{
		Name:           s.Name,
		Selector:       sel,
		BytesPerSec:    s.BytesPerSec,
		DialTimeout:    s.DialTimeout,
		IdleTimeout:    s.IdleTimeout,
		MaxConnections: s.MaxConnections,
		HealthCheck:    s.HealthCheck,
		Metrics:        m,
		Conns:          conns.Conns,
		Log:            ctx.Slogger().With(slog.String("lb", s.Name)),
	}
	h.balancer = b
	for _, addr := range s.Backends {
		be, err := loadBackend(s.Name, addr)
		if err != nil {
			return err // Caddy calls Cleanup, which releases what was taken
		}
		h.loaded = append(h.loaded, addr)
		b.Backends = append(b.Backends, be)
	}
	if len(s.DNSBackends) > 0 {
		b.DNS = &l4lb.DNS{Names: s.DNSBackends, Refresh: s.DNSRefresh, Resolver: resolver, Store: pooledStore{lb: s.Name}}
	}
	b.Start()
	h.logger.Info("balancing", zap.String("lb", s.Name), zap.String("algorithm", s.Algorithm),
		zap.Strings("backends", s.Backends), zap.Strings("dns_backends", s.DNSBackends), zap.Float64("rate_mbps", h.Rate),
		zap.Duration("idle_timeout", s.IdleTimeout), zap.Int64("max_connections", s.MaxConnections))
	return nil
}

// Handle forwards the connection; it is terminal (next is not called).
func (h *Handler) Handle(cx *layer4.Connection, _ layer4.Handler) error {
	if tcp, ok := cx.Conn.(*net.TCPConn); ok {
		h.balancer.Serve(tcp, cx.MatchingBytes())
		return nil
	}
	// Wrapped by an earlier handler: read through cx, which replays what
	// matching read first. No splice on this path.
	h.balancer.Serve(cx, nil)
	return nil
}

// Cleanup stops this configuration's health checks and releases its share
// of the pools. Connections keep flowing: on a reload the next
// configuration holds the pools; when the last one goes, the open
// connections are drained.
func (h *Handler) Cleanup() error {
	if h.balancer != nil {
		h.balancer.Stop()
		for _, addr := range h.loaded {
			releaseBackend(h.balancer.Name, addr)
		}
	}
	if h.conns != nil {
		_, err := connsPool.Delete(connsKey)
		return err
	}
	return nil
}

// connsHandle is the process's connection tracker in the usage pool.
type connsHandle struct {
	*l4lb.Conns
	drain  atomic.Int64 // drain timeout of the newest configuration
	logger *zap.Logger
}

// Destruct runs when no configuration has a balancer any more (at exit, or
// when the last balancer was removed): wait for the open connections, for
// at most the drain timeout, then close them.
func (c *connsHandle) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.drain.Load()))
	defer cancel()
	if err := c.Drain(ctx); err != nil {
		c.logger.Warn("balancer: drain cut short", zap.Error(err))
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner  = (*Handler)(nil)
	_ caddy.CleanerUpper = (*Handler)(nil)
	_ layer4.NextHandler = (*Handler)(nil)
)
