package l4balancer

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

// A backend that never answers the handshake costs the client one dial
// timeout, after which the connection goes to the next backend.
func TestDialTimeoutThenNextBackend(t *testing.T) {
	silent := silentBackend(t)
	live := newBackend(t, "live")
	lb, bal := startLB(t, l4lb.RoundRobin, []string{silent, live.addr()}, lbOptions{dialTimeout: 300 * time.Millisecond})
	start := time.Now()
	cl := dial(t, lb.Addr())
	took := time.Since(start)
	if cl.backend != "live" {
		t.Fatalf("went to %s", cl.backend)
	}
	if took < 250*time.Millisecond || took > 2*time.Second {
		t.Fatalf("the first byte took %v, want about the 300ms dial timeout", took)
	}
	if bal.Backends[0].Up() {
		t.Fatal("the backend whose dial timed out is still up")
	}
}

// silentBackend is an address whose SYNs go unanswered: a listener with a
// full accept queue that never accepts. Linux drops further SYNs (other
// systems may refuse them), hence this file's build constraint.
func silentBackend(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the accept queue (backlog 0 holds one connection).
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // this one was not answered: the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
}
