package l4lb

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Server accepts on one listener and hands every connection to the current
// Balancer. It outlives configurations: a reload swaps the Balancer while the
// listener and the connections being forwarded stay as they are.
type Server struct {
	ln       net.Listener
	balancer atomic.Pointer[Balancer]
	log      *zap.Logger

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup // the accept loop and every connection
}

// NewServer returns a Server on ln; call Serve to start accepting.
func NewServer(ln net.Listener, log *zap.Logger) *Server {
	return &Server{ln: ln, log: log, conns: map[net.Conn]struct{}{}}
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
		s.wg.Go(func() {
			defer untrack()
			s.balancer.Load().serve(conn, s.track)
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
