package l4balancer

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

func TestTCPHealthCheckTakesOutAndBringsBack(t *testing.T) {
	be := newBackend(t, "a")
	addr := be.addr()
	hc := l4lb.HealthCheck{Interval: 30 * time.Millisecond, Timeout: 200 * time.Millisecond, Fall: 3, Rise: 2, Type: "tcp"}
	_, bal := startLB(t, l4lb.RoundRobin, []string{addr}, lbOptions{health: hc})
	b := bal.Backends[0]
	if !b.Up() {
		t.Fatal("a backend must start healthy")
	}
	be.stop()
	waitFor(t, "the backend to be taken out after 3 failed checks", func() bool { return !b.Up() })
	// Listen again on the same address.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	waitFor(t, "the backend to come back after 2 good checks", b.Up)
}

func TestHTTPHealthCheckUsesPathAndStatus(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var hits atomic.Int32
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		hits.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	hc := l4lb.HealthCheck{Interval: 30 * time.Millisecond, Timeout: 200 * time.Millisecond, Fall: 2, Rise: 2, Type: "http", Path: "/healthz"}
	_, bal := startLB(t, l4lb.RoundRobin, []string{ln.Addr().String()}, lbOptions{health: hc})
	b := bal.Backends[0]
	waitFor(t, "the first check, at once", func() bool { return hits.Load() >= 1 })
	if !b.Up() {
		t.Fatal("down though /healthz answers 200")
	}
	healthy.Store(false)
	waitFor(t, "503 to take the backend out", func() bool { return !b.Up() })
	healthy.Store(true)
	waitFor(t, "200 to bring it back", b.Up)
}
