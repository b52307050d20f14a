package l4lb

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// HealthCheck configures the active checks of every backend.
type HealthCheck struct {
	Interval time.Duration
	Timeout  time.Duration
	Fall     int    // consecutive failures that take a backend out
	Rise     int    // consecutive successes that bring it back
	Type     string // "tcp" (connect) or "http" (GET Path, 2xx/3xx)
	Path     string
}

// DefaultHealthCheck: a TCP connect every 2s, 1s timeout, out after 3
// failures, back after 2 successes.
var DefaultHealthCheck = HealthCheck{Interval: 2 * time.Second, Timeout: time.Second, Fall: 3, Rise: 2, Type: "tcp", Path: "/"}

// checker runs the health checks of one balancer until stopped: one loop
// per backend, added and removed as DNS backends come and go.
type checker struct {
	hc      HealthCheck
	client  *http.Client
	onState func(b *Backend)
	log     *slog.Logger
	ctx     context.Context // ends every loop
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu    sync.Mutex
	loops map[*Backend]context.CancelFunc
}

func startChecker(hc HealthCheck, backends []*Backend, onState func(*Backend), log *slog.Logger) *checker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{hc: hc, onState: onState, log: log, ctx: ctx, cancel: cancel, loops: map[*Backend]context.CancelFunc{}}
	if hc.Type == "http" {
		// A fresh connection per check: a pooled one could hide a backend
		// that stopped accepting.
		c.client = &http.Client{Timeout: hc.Timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	for _, b := range backends {
		c.add(b)
	}
	return c
}

// add starts checking b (once, however often it is added).
func (c *checker) add(b *Backend) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.loops[b]; ok || c.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.loops[b] = cancel
	c.wg.Go(func() { c.loop(ctx, b) })
}

// remove stops checking b; it does not wait for a check in flight.
func (c *checker) remove(b *Backend) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cancel, ok := c.loops[b]; ok {
		cancel()
		delete(c.loops, b)
	}
}

func (c *checker) stop() {
	c.cancel()
	c.wg.Wait()
}

func (c *checker) loop(ctx context.Context, b *Backend) {
	tick := time.NewTicker(c.hc.Interval)
	defer tick.Stop()
	for {
		err := c.check(ctx, b.Addr) // the first check runs at once
		if ctx.Err() != nil {
			return
		}
		if b.observe(err == nil, c.hc.Fall, c.hc.Rise) {
			if err != nil {
				c.log.Warn("backend down", slog.String("backend", b.Addr), slog.Any("error", err))
			} else {
				c.log.Info("backend up", slog.String("backend", b.Addr))
			}
			c.onState(b)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *checker) check(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, c.hc.Timeout)
	defer cancel()
	if c.hc.Type != "http" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+c.hc.Path, nil)
	if err != nil {
		return err
	}
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode >= 400 {
		return fmt.Errorf("GET %s: status %d", c.hc.Path, res.StatusCode)
	}
	return nil
}
