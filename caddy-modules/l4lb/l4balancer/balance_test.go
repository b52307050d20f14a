package l4balancer

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/caddysocial/platform/caddy-modules/l4lb"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRoundRobinTakesEachBackendInTurn(t *testing.T) {
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	lb, _ := startLB(t, l4lb.RoundRobin, addrs(a, b, c), lbOptions{})
	var got string
	for range 6 {
		cl := dial(t, lb.Addr())
		got += cl.backend
		cl.Close()
	}
	if got != "abcabc" {
		t.Fatalf("order %q, want abcabc", got)
	}
}

func TestLeastConnFollowsActiveConnections(t *testing.T) {
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	lb, bal := startLB(t, l4lb.LeastConn, addrs(a, b, c), lbOptions{})
	active := func(i int) int64 { return bal.Backends[i].Active() }

	// All idle: ties are broken in turn.
	c1, c2, c3 := dial(t, lb.Addr()), dial(t, lb.Addr()), dial(t, lb.Addr())
	if c1.backend+c2.backend+c3.backend != "abc" {
		t.Fatalf("ties: %s%s%s, want abc", c1.backend, c2.backend, c3.backend)
	}
	// b gets a second connection; closing c3 frees c.
	c4 := dial(t, lb.Addr())
	if c4.backend != "a" {
		t.Fatalf("4th connection went to %s, want a (all tied at 1, turn of a)", c4.backend)
	}
	c3.Close()
	waitFor(t, "c's active count to drop to 0", func() bool { return active(2) == 0 })
	if active(0) != 2 || active(1) != 1 {
		t.Fatalf("active a=%d b=%d, want 2 and 1", active(0), active(1))
	}
	for range 2 { // c is the least loaded however the turn stands
		cl := dial(t, lb.Addr())
		if cl.backend != "c" {
			t.Fatalf("went to %s, want c (fewest connections)", cl.backend)
		}
		defer cl.Close()
		if active(2) == 1 { // now c has 1: a=2, b=1, c=1
			break
		}
	}
	c1.Close()
	c4.Close()
	waitFor(t, "a's active count to drop to 0", func() bool { return active(0) == 0 })
	if cl := dial(t, lb.Addr()); cl.backend != "a" {
		t.Fatalf("went to %s, want a (0 active)", cl.backend)
	}
	if got := testutil.ToFloat64(bal.Metrics.Active.WithLabelValues("test", a.addr())); got != 1 {
		t.Fatalf("l4lb_connections_active for a = %v, want 1", got)
	}
}

func TestHashingIsStickyPerClientIPAndOnlyMovesTheLostBackendsClients(t *testing.T) {
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	lb, bal := startLB(t, l4lb.Hashing, addrs(a, b, c), lbOptions{})
	const clients = 30
	before := map[string]string{}
	counts := map[string]int{}
	for i := 1; i <= clients; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i+1)
		first := dialFrom(t, lb.Addr(), ip)
		second := dialFrom(t, lb.Addr(), ip) // another source port, same IP
		if first.backend != second.backend {
			t.Fatalf("%s went to %s then %s", ip, first.backend, second.backend)
		}
		first.Close()
		second.Close()
		before[ip] = first.backend
		counts[first.backend]++
	}
	for _, name := range []string{"a", "b", "c"} {
		if counts[name] < 3 {
			t.Fatalf("distribution %v: %s gets almost nothing", counts, name)
		}
	}
	b.stop() // b dies: the next dial to it fails and takes it out
	moved := 0
	for ip, was := range before {
		now := dialFrom(t, lb.Addr(), ip).backend
		switch {
		case was == "b" && now == "b":
			t.Fatalf("%s still on the dead backend", ip)
		case was == "b":
			moved++
		case now != was:
			t.Fatalf("%s moved from %s to %s though %s is healthy", ip, was, now, was)
		}
	}
	if moved != counts["b"] {
		t.Fatalf("%d clients moved, want b's %d", moved, counts["b"])
	}
	if bal.Backends[1].Up() {
		t.Fatal("b is still marked up")
	}
}

func TestFailedDialIsRetriedOnTheNextBackend(t *testing.T) {
	dead := newBackend(t, "dead")
	dead.stop()
	live := newBackend(t, "live")
	lb, bal := startLB(t, l4lb.RoundRobin, addrs(dead, live), lbOptions{})
	for range 3 {
		if cl := dial(t, lb.Addr()); cl.backend != "live" {
			t.Fatalf("went to %s", cl.backend)
		}
	}
	if bal.Backends[0].Up() {
		t.Fatal("the backend whose dial failed is still up")
	}
	if got := testutil.ToFloat64(bal.Metrics.DialFailures.WithLabelValues("test", dead.addr())); got != 1 {
		t.Fatalf("dial failures = %v, want 1 (then it is out of the pool)", got)
	}
	if got := testutil.ToFloat64(bal.Metrics.Up.WithLabelValues("test", dead.addr())); got != 0 {
		t.Fatalf("l4lb_backend_up = %v, want 0", got)
	}
	if got := testutil.ToFloat64(bal.Metrics.Connections.WithLabelValues("test", live.addr())); got != 3 {
		t.Fatalf("connections to live = %v, want 3", got)
	}
}

func TestAllBackendsDownClosesTheClientAtOnce(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	a.stop()
	b.stop()
	lb, _ := startLB(t, l4lb.LeastConn, addrs(a, b), lbOptions{})
	for range 2 { // first by failed dials, then with both already out
		c, err := net.Dial("tcp", lb.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 1)
		_, err = c.Read(buf)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the client connection was left hanging")
		}
		if err == nil {
			t.Fatal("read data from no backend")
		}
		c.Close()
	}
}

// Backends can be given by host name (as in the compose configs) or by IP.
func TestBackendsByHostNameAndByIP(t *testing.T) {
	a := newBackend(t, "a")
	_, port, _ := net.SplitHostPort(a.addr())
	byName, byIP := l4lb.NewBackend(net.JoinHostPort("localhost", port)), l4lb.NewBackend(a.addr())
	for _, be := range []*l4lb.Backend{byName, byIP} {
		conn, err := be.Dial(time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", be.Addr, err)
		}
		greeting := make([]byte, 2)
		if _, err := io.ReadFull(conn, greeting); err != nil || string(greeting) != "a\n" {
			t.Fatalf("dial %s: greeting %q, %v", be.Addr, greeting, err)
		}
		conn.Close()
	}
	lb, _ := startLB(t, l4lb.RoundRobin, []string{byName.Addr}, lbOptions{})
	if cl := dial(t, lb.Addr()); cl.backend != "a" {
		t.Fatalf("through a balancer with a host-name backend: reached %q", cl.backend)
	}
}
