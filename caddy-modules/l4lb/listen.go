package l4lb

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Keep-alive of client connections, as Go's defaults: probes after 15s
// idle, every 15s, 9 unanswered ones end the connection.
const (
	keepAliveIdle     = 15 * time.Second
	keepAliveInterval = 15 * time.Second
	keepAliveCount    = 9
)

// Listen opens the balancer's TCP listener. TCP keep-alive is set once on
// the listening socket, which Linux copies to every accepted socket, instead
// of by Go on each accepted connection (four setsockopt calls per
// connection: 2% of the CPU of one-request connections, docs/BENCHMARKS.md).
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{
		KeepAlive: -1, // not per connection: inherited from the listener
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				for _, o := range []struct{ level, opt, v int }{
					{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int(keepAliveIdle / time.Second)},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int(keepAliveInterval / time.Second)},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveCount},
				} {
					if serr = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.v); serr != nil {
						serr = fmt.Errorf("keep-alive socket option %d: %w", o.opt, serr)
						return
					}
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	return lc.Listen(ctx, "tcp", addr)
}
