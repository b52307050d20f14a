package l4lb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"go.uber.org/zap"
)

// Server accepts on one listener and hands every connection to the current
// Balancer. It outlives configurations: a reload swaps the Balancer while the
// listener and the connections being forwarded stay as they are.
type Server struct {
	ln       net.Listener
	balancer atomic.Pointer[Balancer]
	log      *zap.Logger
	// workers run the connections (two goroutines each). Reusing goroutines
	// matters for short connections: a new goroutine starts with a small
	// stack and grows it, copying it, on the dial path, which a profile of
	// one-request connections showed at ~6% of the balancer's CPU; pooled
	// workers cut its CPU per connection by ~8% (docs/BENCHMARKS.md).
	// (ants also starts a default pool with two idle goroutines at package
	// init; it is not used.)
	workers *ants.Pool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup // the accept loop and every connection
}

// NewServer returns a Server on ln; call Serve to start accepting.
func NewServer(ln net.Listener, log *zap.Logger) (*Server, error) {
	workers, err := ants.NewPool(0, // no cap: the OS's file limit bounds connections
		ants.WithExpiryDuration(30*time.Second),
		ants.WithPanicHandler(func(p any) { log.Error("panic in connection handler", zap.Any("panic", p), zap.Stack("stack")) }),
		ants.WithLogger(zapPrintf{log}))
	if err != nil {
		return nil, fmt.Errorf("worker pool: %w", err)
	}
	return &Server{ln: ln, log: log, workers: workers, conns: map[net.Conn]struct{}{}}, nil
}

// zapPrintf adapts zap to ants' Printf logger.
type zapPrintf struct{ log *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) { z.log.Sugar().Infof(format, args...) }

// run runs f on a pooled goroutine that the wait group tracks.
func (s *Server) run(f func()) {
	s.wg.Add(1)
	task := func() {
		defer s.wg.Done()
		f()
	}
	if s.workers.Submit(task) != nil {
		go task() // the pool is closed only after every connection ended
	}
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// SetBalancer makes b handle the connections accepted from now on.
func (s *Server) SetBalancer(b *Balancer) { s.balancer.Store(b) }

// Serve runs the accept loop in the background until Shutdown.
func (s *Server) Serve() {
	s.wg.Go(s.acceptLoop)
}

func (s *Server) acceptLoop() {
	var backoff time.Duration
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("accept", zap.Error(err), zap.Duration("retry_in", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		untrack := s.track(conn)
		s.run(func() {
			defer untrack()
			s.balancer.Load().serve(conn, s)
		})
	}
}

func (s *Server) track(c net.Conn) func() {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
}

// Active is the number of open connections (client and backend sides).
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting and waits for the connections being forwarded to
// finish; when ctx ends first, it closes them and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ln.Close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	defer s.workers.Release()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.log.Warn("drain timeout: closed connections still open", zap.Int("connections", n))
	<-done
	return ctx.Err()
}
