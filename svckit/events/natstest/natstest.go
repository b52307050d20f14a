// Package natstest runs a real, embedded NATS server with JetStream for
// tests (no mocks), which can be stopped and started again on the same port
// and storage, as NATS in production goes down and comes back.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server with JetStream on file storage.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Start runs a server on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	}}
	s.start()
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port // Restart reuses it
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.t.Fatal("nats server did not start")
	}
	s.srv = srv
}

// URL is the client URL of the server (stable across Stop and Restart).
func (s *Server) URL() string { return s.srv.ClientURL() }

// Stop shuts the server down (its data stays for Restart).
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}

// Restart starts the server again on the same port and storage.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}
