package l4lb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/caddysocial/platform/svckit/eventually"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoServer greets with "hi\n" and echoes until EOF.
func echoServer(t *testing.T) string { return greetingServer(t, "127.0.0.1:0", "hi\n") }

// greetingServer listens on addr, sends greeting on each connection and
// echoes until EOF; it returns the address it listens on.
func greetingServer(t *testing.T, addr, greeting string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.WriteString(c, greeting)
				io.Copy(c, c)
			})
		}
	})
	return ln.Addr().String()
}

// serveLB accepts on a loopback listener and hands each connection to a
// Balancer over backend (the role the caddy-l4 handler plays in Caddy). It
// returns the listener address, the balancer, and a stop function that
// closes the listener and waits for the accept loop.
func serveLB(t *testing.T, backend string, conns *Conns, mutate func(*Balancer)) (string, *Balancer, func()) {
	t.Helper()
	b := &Balancer{Name: "t", Backends: []*Backend{NewBackend(backend)}, Selector: &roundRobin{},
		DialTimeout: time.Second, HealthCheck: HealthCheck{Interval: time.Hour, Timeout: time.Second, Fall: 1, Rise: 1, Type: "tcp"},
		Conns: conns, Log: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(b)
	}
	b.Start()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.Serve(c, nil)
		}
	})
	stop := func() { ln.Close(); wg.Wait(); b.Stop() }
	t.Cleanup(stop)
	return ln.Addr().String(), b, stop
}

func greet(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, r, line := via(t, addr)
	if line != "hi" {
		t.Fatalf("greeting %q", line)
	}
	return c, r
}

// via connects to addr (a balancer) and returns the connection, its reader
// and the greeting line of the backend that answered.
func via(t *testing.T, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting through the balancer: %v", err)
	}
	return c, r, strings.TrimSpace(line)
}

// waitFor waits for cond (svckit/eventually: a long deadline, reached only
// when the test is failing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventually.True(t, 0, what, cond)
}

func newConns(t *testing.T) *Conns {
	t.Helper()
	c, err := NewConns(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDrainWaitsForConnectionsThenForcesThemClosed(t *testing.T) {
	backend := echoServer(t)

	// A connection that finishes during the drain: Drain returns early.
	conns := newConns(t)
	addr, _, stop := serveLB(t, backend, conns, nil)
	cl, _ := greet(t, addr)
	stop()
	go func() { time.Sleep(100 * time.Millisecond); cl.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := conns.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("Drain waited for the full timeout though the connection had ended")
	}

	// A connection that outlives the drain timeout is closed.
	conns2 := newConns(t)
	addr2, _, stop2 := serveLB(t, backend, conns2, nil)
	_, stuck := greet(t, addr2)
	stop2()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := conns2.Drain(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %v, want DeadlineExceeded", err)
	}
	if _, err := stuck.ReadByte(); err == nil {
		t.Fatal("the connection is still open after the drain timeout")
	}
	if conns2.Active() != 0 {
		t.Fatalf("%d connections tracked after the drain", conns2.Active())
	}
}

// The pooled connection workers and the pool's housekeeping all end at
// Drain, also after they were reused.
func TestDrainLeavesNoGoroutines(t *testing.T) {
	before := poolGoroutines() // ants runs a default pool from package init
	conns := newConns(t)
	addr, _, stop := serveLB(t, echoServer(t), conns, nil)
	for i := range 20 {
		c, r := greet(t, addr)
		fmt.Fprintf(c, "ping %d\n", i)
		if line, err := r.ReadString('\n'); err != nil || line != fmt.Sprintf("ping %d\n", i) {
			t.Fatalf("echo %d = %q, %v", i, line, err)
		}
		c.Close()
	}
	waitFor(t, "connections to end", func() bool { return conns.Active() == 0 })
	if n := poolGoroutines(); n <= before {
		t.Fatal("no pool goroutines found while serving: the check below would prove nothing")
	}
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conns.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if eventually.Wait(0, func() error {
		if poolGoroutines() > before {
			return errors.New("pool goroutines still running")
		}
		return nil
	}) != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines left after Drain:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// poolGoroutines counts the goroutines running code of the worker pool.
func poolGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "panjf2000/ants")
}

// After a drain began, a new connection is closed at once.
func TestServeRefusesWhileDraining(t *testing.T) {
	conns := newConns(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := conns.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := serveLB(t, echoServer(t), conns, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %v: want the connection closed at once", err)
	}
}
