package l4lb

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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

// copyOptions shape the copy of both directions of one connection.
type copyOptions struct {
	bytesPerSec float64       // per direction; 0 = unlimited
	idleTimeout time.Duration // 0 = none
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

// smallCopySize is the buffer of the user-space copy that each direction
// starts with; a read that fills it means a bulk transfer.
const smallCopySize = 16 << 10

var smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallCopySize); return &b }}

// transfer copies one direction until EOF or an error. With a limiter it is
// the rate-limited loop. Without, it works like HAProxy's splice-auto: short
// messages (most request/response traffic) go through one read and one
// write each, which is fewer system calls than splice(2) needs (a pipe, and
// two or three splices per message); once a read fills the buffer, bulkCopy
// takes over, and between two *net.TCPConn the kernel splices the rest
// without copying it to user space.
func transfer(dst, src net.Conn, lim *rate.Limiter) (int64, error) {
	if lim != nil {
		return copyLimited(dst, src, lim)
	}
	bp := smallBuffers.Get().(*[]byte)
	buf := *bp
	var written int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr != nil {
				smallBuffers.Put(bp)
				return written, werr
			}
		}
		if rerr != nil {
			smallBuffers.Put(bp)
			if rerr == io.EOF {
				return written, nil
			}
			return written, rerr
		}
		if n == len(buf) {
			smallBuffers.Put(bp)
			rest, err := bulkCopy(dst, src)
			return written + rest, err
		}
	}
}

// idleWatch is the last time either direction of a connection moved bytes.
//
// Each direction reads with a deadline a quarter of the idle timeout ahead
// and restarts the copy when it passes; the count of bytes that copy moved
// tells whether the window had traffic. That keeps the kernel's splice path
// (nothing sees the bytes of a splice) at the price of precision: a
// connection is closed between idle_timeout and 1.5 × idle_timeout after its
// last byte in either direction.
type idleWatch struct {
	timeout time.Duration
	last    atomic.Int64 // UnixNano
}

var errIdle = errors.New("idle timeout")

func newIdleWatch(timeout time.Duration) *idleWatch {
	w := &idleWatch{timeout: timeout}
	w.last.Store(time.Now().UnixNano())
	return w
}

// transferUntilIdle is transfer that gives up with errIdle once neither
// direction has moved a byte for the idle timeout.
func transferUntilIdle(dst, src net.Conn, lim *rate.Limiter, idle *idleWatch) (int64, error) {
	if idle == nil {
		return transfer(dst, src, lim)
	}
	window := idle.timeout / 4
	var total int64
	for {
		if err := src.SetReadDeadline(time.Now().Add(window)); err != nil {
			return total, err
		}
		n, err := transfer(dst, src, lim)
		total += n
		now := time.Now().UnixNano()
		if n > 0 {
			idle.last.Store(now)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return total, err
		}
		if now-idle.last.Load() >= int64(idle.timeout) {
			return total, errIdle
		}
	}
}

type closeWriter interface{ CloseWrite() error }

// pipe forwards both directions until both have ended. When one side
// finishes sending (EOF), the other side's write half is closed, so a
// half-close travels through the balancer; an error in either direction
// (or the idle timeout) closes both connections. It returns the bytes sent
// each way. run starts the second direction on another goroutine.
func pipe(client, backend net.Conn, opt copyOptions, run func(func())) (toBackend, toClient int64) {
	var idle *idleWatch
	if opt.idleTimeout > 0 {
		idle = newIdleWatch(opt.idleTimeout)
	}
	var finished atomic.Int32
	done := make(chan struct{})
	run(func() {
		defer close(done)
		toClient = forward(client, backend, opt.limiter(), idle, &finished)
	})
	toBackend = forward(backend, client, opt.limiter(), idle, &finished)
	<-done
	return toBackend, toClient
}

// limiter is a new token bucket for one direction, or nil for no limit.
func (o copyOptions) limiter() *rate.Limiter {
	if o.bytesPerSec <= 0 {
		return nil
	}
	return NewLimiter(o.bytesPerSec)
}

// forward copies src to dst, then passes the end on: a half-close while the
// other direction still runs (the direction that ends last skips it, since
// both connections are closed right after), or a full close after an error.
func forward(dst, src net.Conn, lim *rate.Limiter, idle *idleWatch, finished *atomic.Int32) int64 {
	n, err := transferUntilIdle(dst, src, lim, idle)
	last := finished.Add(1) == 2
	if err == nil || errors.Is(err, io.EOF) {
		if last {
			return n
		}
		if cw, ok := dst.(closeWriter); ok && cw.CloseWrite() == nil {
			return n
		}
	}
	dst.Close()
	src.Close()
	return n
}
