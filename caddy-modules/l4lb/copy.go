package l4lb

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"golang.org/x/time/rate"
)

// MinBurst is the smallest token-bucket burst: one read of a socket buffer
// must fit in it.
const MinBurst = 64 << 10

// NewLimiter returns a token bucket for bytesPerSec with a burst of a tenth
// of a second's worth (at least MinBurst). The bucket starts empty, so a
// transfer's average rate is the configured one from its first byte instead
// of a burst above it.
func NewLimiter(bytesPerSec float64) *rate.Limiter {
	burst := max(int(bytesPerSec/10), MinBurst)
	lim := rate.NewLimiter(rate.Limit(bytesPerSec), burst)
	lim.ReserveN(time.Now(), burst)
	return lim
}

// copyLimited copies src to dst at most at lim's rate. x/time/rate is the
// bucket; the loop is by hand because no library offers a rate-limited
// io.Copy that waits per read.
func copyLimited(dst io.Writer, src io.Reader, lim *rate.Limiter) (int64, error) {
	buf := make([]byte, min(32<<10, lim.Burst()))
	var written int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if err := lim.WaitN(context.Background(), n); err != nil {
				return written, err
			}
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// transfer copies one direction. Unlimited, io.Copy between two
// *net.TCPConn lets the kernel splice(2) the bytes without a user-space copy.
func transfer(dst, src net.Conn, bytesPerSec float64) (int64, error) {
	if bytesPerSec <= 0 {
		return io.Copy(dst, src)
	}
	return copyLimited(dst, src, NewLimiter(bytesPerSec))
}

type closeWriter interface{ CloseWrite() error }

// pipe forwards both directions until both have ended. When one side
// finishes sending (EOF), the other side's write half is closed, so a
// half-close travels through the balancer; an error in either direction
// closes both connections. It returns the bytes sent each way.
func pipe(client, backend net.Conn, bytesPerSec float64) (toBackend, toClient int64) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		toClient = forward(client, backend, bytesPerSec)
	}()
	toBackend = forward(backend, client, bytesPerSec)
	<-done
	return toBackend, toClient
}

func forward(dst, src net.Conn, bytesPerSec float64) int64 {
	n, err := transfer(dst, src, bytesPerSec)
	if err == nil || errors.Is(err, io.EOF) {
		if cw, ok := dst.(closeWriter); ok && cw.CloseWrite() == nil {
			return n
		}
	}
	// An error, or no half-close: end both directions.
	dst.Close()
	src.Close()
	return n
}
