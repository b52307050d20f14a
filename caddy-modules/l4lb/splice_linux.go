package l4lb

import (
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeSize is the splice pipe's capacity: Linux's default limit for an
// unprivileged process (fs.pipe-max-size), and the size Go's own splice
// uses. Smaller pipes cost more CPU per byte (docs/BENCHMARKS.md).
const pipeSize = 1 << 20

// bulkCopy copies src to dst until EOF. Between two TCP connections the
// kernel splices the bytes through a pipe without copying them to user
// space; anything else goes through io.Copy.
//
// Go's io.Copy splices between TCP connections too, so why a loop of our
// own: Go issues splice(2) through syscall.Syscall6, which tells the
// scheduler that the goroutine may block. A splice of up to 1 MiB takes
// about 100 µs, long enough for sysmon to take the P away and hand it to
// another thread, which then has to give it back: thread wake-ups that
// were ~13% of the balancer's CPU samples while forwarding one stream.
// Both file descriptors here are non-blocking (the sockets are in Go's
// poller, the pipe is created O_NONBLOCK and SPLICE_F_NONBLOCK is set), so
// a splice never sleeps and a raw system call is safe: it cut the
// balancer's CPU per GB moved to 0.77–0.90× io.Copy's in every round of
// bench/l4lb.sh (docs/BENCHMARKS.md). The price: while one splice runs,
// its P runs nothing else, so another goroutine may wait ~100 µs for it
// (with GOMAXPROCS ≥ 2 the other Ps keep going).
// Readiness still comes from Go's poller through syscall.RawConn, so read
// deadlines (the idle timeout) and closes work as with io.Copy.
func bulkCopy(dst, src net.Conn) (int64, error) {
	d, dok := dst.(*net.TCPConn)
	s, sok := src.(*net.TCPConn)
	if !dok || !sok {
		return io.Copy(dst, src)
	}
	written, handled, err := splice(d, s)
	if !handled {
		rest, err := io.Copy(dst, src)
		return written + rest, err
	}
	return written, err
}

// splice moves src to dst through a pipe of its own until EOF or an error.
// handled is false when the kernel refuses to splice these sockets (EINVAL
// on the first call, nothing moved): the caller copies instead.
func splice(dst, src *net.TCPConn) (written int64, handled bool, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return 0, false, nil
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	// Best effort: with the default 64 KiB pipe the loop works, only slower.
	_, _ = unix.FcntlInt(uintptr(p[0]), unix.F_SETPIPE_SZ, pipeSize)
	rs, err := src.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	rd, err := dst.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	for {
		// Socket to pipe. The pipe is empty here, so a deadline or an
		// error loses nothing that was read.
		var inPipe int
		var serr error
		if err := rs.Read(func(fd uintptr) bool {
			inPipe, serr = rawSplice(int(fd), p[1], pipeSize)
			return serr != unix.EAGAIN
		}); err != nil {
			return written, true, err
		}
		if serr == unix.EINVAL && written == 0 {
			return 0, false, nil
		}
		if serr != nil {
			return written, true, &net.OpError{Op: "splice", Net: "tcp", Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: serr}
		}
		if inPipe == 0 {
			return written, true, nil // EOF
		}
		// Pipe to socket, until the pipe is empty.
		for inPipe > 0 {
			var n int
			if err := rd.Write(func(fd uintptr) bool {
				n, serr = rawSplice(p[0], int(fd), inPipe)
				return serr != unix.EAGAIN
			}); err != nil {
				return written, true, err
			}
			if serr != nil {
				return written, true, &net.OpError{Op: "splice", Net: "tcp", Source: dst.LocalAddr(), Addr: dst.RemoteAddr(), Err: serr}
			}
			inPipe -= n
			written += int64(n)
		}
	}
}

// rawSplice is one non-blocking splice(2), retried on EINTR; it returns
// EAGAIN when there is nothing to move yet.
func rawSplice(in, out, n int) (int, error) {
	for {
		r, _, e := syscall.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n),
			unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MOVE)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}
