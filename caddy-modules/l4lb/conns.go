package l4lb

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"
)

// Conns owns the connections being forwarded: it counts them so that a
// shutdown can wait for them, closes what outlives the drain, and runs the
// second direction of each connection on a pooled goroutine. One Conns
// serves every configuration of a process, so connections accepted under an
// older configuration are drained too.
type Conns struct {
	log *slog.Logger
	// workers run the backend-to-client direction of each connection.
	// Reusing goroutines matters for short connections: a new goroutine
	// starts with a small stack and grows it, copying it, on the dial path,
	// which a profile of one-request connections showed at ~6% of the
	// balancer's CPU (docs/BENCHMARKS.md). (ants also starts a default pool
	// with two idle goroutines at package init; it is not used.)
	workers *ants.Pool

	mu       sync.Mutex
	open     map[net.Conn]struct{}
	draining bool
	wg       sync.WaitGroup // every connection being served and every pooled task
}

// NewConns returns an empty tracker with its worker pool.
func NewConns(log *slog.Logger) (*Conns, error) {
	workers, err := ants.NewPool(0, // no cap: the OS's file limit bounds connections
		ants.WithExpiryDuration(30*time.Second),
		ants.WithPanicHandler(func(p any) {
			log.Error("panic in connection handler", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		}),
		ants.WithLogger(slogPrintf{log}))
	if err != nil {
		return nil, fmt.Errorf("worker pool: %w", err)
	}
	return &Conns{log: log, workers: workers, open: map[net.Conn]struct{}{}}, nil
}

// slogPrintf adapts slog to ants' Printf logger.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, args ...any) { l.log.Info(fmt.Sprintf(format, args...)) }

// begin registers a client connection being served; it returns false once
// a drain has started. end undoes it.
func (c *Conns) begin(client net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.open[client] = struct{}{}
	c.wg.Add(1)
	return true
}

func (c *Conns) end(client net.Conn) {
	c.forget(client)
	c.wg.Done()
}

// add registers a backend connection of a client already begun; forget
// removes it.
func (c *Conns) add(conn net.Conn) {
	c.mu.Lock()
	c.open[conn] = struct{}{}
	c.mu.Unlock()
}

func (c *Conns) forget(conn net.Conn) {
	c.mu.Lock()
	delete(c.open, conn)
	c.mu.Unlock()
}

// run runs f on a pooled goroutine that the drain waits for.
func (c *Conns) run(f func()) {
	c.wg.Add(1)
	task := func() {
		defer c.wg.Done()
		f()
	}
	if c.workers.Submit(task) != nil {
		go task() // the pool is released only after every connection ended
	}
}

// Active is the number of open connections (client and backend sides).
func (c *Conns) Active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// Drain refuses new connections and waits for the open ones to finish; when
// ctx ends first, it closes them and returns ctx's error. The worker pool is
// released at the end.
func (c *Conns) Drain(ctx context.Context) error {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	defer c.workers.Release()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	n := len(c.open)
	for conn := range c.open {
		conn.Close()
	}
	c.mu.Unlock()
	c.log.Warn("drain timeout: closed connections still open", slog.Int("connections", n))
	<-done
	return ctx.Err()
}
