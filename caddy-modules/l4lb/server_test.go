package l4lb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
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

// The server's goroutines (accept loop, pooled connection workers and the
// pool's housekeeping) all end at Shutdown, also after they were reused.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	before := ownGoroutines() // ants runs a default pool from package init
	be := newBackend(t, "a")
	lb, _ := startLB(t, RoundRobin, addrs(be), lbOptions{})
	for i := range 20 {
		c := dial(t, lb.Addr())
		fmt.Fprintf(c, "ping %d\n", i)
		if line, err := c.r.ReadString('\n'); err != nil || line != fmt.Sprintf("ping %d\n", i) {
			t.Fatalf("echo %d = %q, %v", i, line, err)
		}
		c.Close()
	}
	waitFor(t, "connections to end", func() bool { return lb.Active() == 0 })
	if n := ownGoroutines(); n <= before {
		t.Fatal("no server goroutines found while serving: the check below would prove nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := lb.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ownGoroutines() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines left after Shutdown:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}
}

// ownGoroutines counts the goroutines running code of the Server or its
// worker pool.
func ownGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "l4lb.(*Server)") || strings.Contains(g, "panjf2000/ants") {
			n++
		}
	}
	return n
}
