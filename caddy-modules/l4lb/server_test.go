package l4lb

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestShutdownWaitsForConnectionsThenForcesThemClosed(t *testing.T) {
	be := newBackend(t, "a")
	lb, _ := startLB(t, RoundRobin, addrs(be), lbOptions{})

	// A connection that finishes during the drain: Shutdown returns early.
	cl := dial(t, lb.Addr())
	go func() { time.Sleep(100 * time.Millisecond); cl.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := lb.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("Shutdown waited for the full timeout though the connection had ended")
	}
	if _, err := net.DialTimeout("tcp", lb.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}

	// A connection that outlives the drain timeout is closed.
	lb2, _ := startLB(t, RoundRobin, addrs(be), lbOptions{})
	stuck := dial(t, lb2.Addr())
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := lb2.Shutdown(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	stuck.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := stuck.r.ReadByte(); err == nil {
		t.Fatal("the connection is still open after the drain timeout")
	}
	if lb2.Active() != 0 {
		t.Fatalf("%d connections tracked after shutdown", lb2.Active())
	}
}
