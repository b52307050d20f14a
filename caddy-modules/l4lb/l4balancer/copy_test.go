package l4balancer

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
)

func TestForwardsLargePayloadsByteExactBothWaysWithHalfClose(t *testing.T) {
	for _, rate := range []float64{0, 400e6} { // kernel splice path, and the limited copy loop
		t.Run(fmt.Sprintf("rate=%v", rate), func(t *testing.T) {
			be := newBackend(t, "echo")
			lb, _ := startLB(t, l4lb.RoundRobin, addrs(be), lbOptions{bytesPerSec: rate})
			cl := dial(t, lb.Addr())
			payload := make([]byte, 24<<20)
			rand.Read(payload)
			go func() {
				cl.Write(payload)
				// Half-close: the backend sees EOF, echoes the rest, and half-closes back.
				cl.Conn.(*net.TCPConn).CloseWrite()
			}()
			h := sha256.New()
			n, err := io.Copy(h, cl.r) // ends only if the backend's half-close came through
			if err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(payload)
			if n != int64(len(payload)) || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("echoed %d bytes, hash match %v; want %d identical bytes", n, bytes.Equal(h.Sum(nil), want[:]), len(payload))
			}
		})
	}
}

// TestHalfCloseFromTheBackend: the backend answers and half-closes while the
// client keeps sending; the client must see EOF and still be able to send.
func TestHalfCloseFromTheBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		for { // the health check connects too
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "bye\n")
				c.(*net.TCPConn).CloseWrite()
				if rest, _ := io.ReadAll(c); len(rest) > 0 {
					got <- string(rest)
				}
			}()
		}
	}()
	lb, _ := startLB(t, l4lb.RoundRobin, []string{ln.Addr().String()}, lbOptions{})
	c, err := net.Dial("tcp", lb.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil || string(all) != "bye\n" {
		t.Fatalf("read %q, %v; want the greeting then EOF", all, err)
	}
	io.WriteString(c, "still talking")
	c.(*net.TCPConn).CloseWrite()
	if s := <-got; s != "still talking" {
		t.Fatalf("backend received %q after its half-close", s)
	}
}

// sink reads everything and reports how many bytes arrived; source sends n
// bytes on connect. Both measure transfers through a rate-limited balancer.
func sinkBackend(t *testing.T, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if n > 0 { // download: send n bytes
					io.CopyN(c, zeros{}, int64(n))
					return
				}
				got, _ := io.Copy(io.Discard, c) // upload: count and report
				io.WriteString(c, strconv.FormatInt(got, 10))
			}()
		}
	}()
	return ln.Addr().String()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// The limit is a functional property (never faster than configured) checked
// over a multi-second transfer, in both directions.
func TestRateLimitHoldsWithinFivePercent(t *testing.T) {
	const rateMBps = 4.0
	const seconds = 3.0
	size := int(rateMBps * 1e6 * seconds)
	measure := func(t *testing.T, backendAddr string, upload bool) float64 {
		lb, _ := startLB(t, l4lb.RoundRobin, []string{backendAddr}, lbOptions{bytesPerSec: l4lb.MBps(rateMBps)})
		c, err := net.Dial("tcp", lb.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if upload {
			go func() {
				io.CopyN(c, zeros{}, int64(size))
				c.(*net.TCPConn).CloseWrite()
			}()
			reply, _ := io.ReadAll(c)
			if string(reply) != strconv.Itoa(size) {
				t.Fatalf("backend got %q bytes, want %d", reply, size)
			}
		} else if n, _ := io.Copy(io.Discard, c); n != int64(size) {
			t.Fatalf("downloaded %d bytes, want %d", n, size)
		}
		return float64(size) / time.Since(start).Seconds() / 1e6
	}
	// The limit must never be beaten: one measurement above +5% fails. A
	// measurement below -5% is retried (up to three tries), since a busy
	// machine (the race detector on 2 cores) can starve a transfer.
	for _, dir := range []string{"upload", "download"} {
		t.Run(dir, func(t *testing.T) {
			n := 0
			if dir == "download" {
				n = size
			}
			backend := sinkBackend(t, n)
			for try := 1; ; try++ {
				got := measure(t, backend, dir == "upload")
				t.Logf("%s, try %d: %.3f MB/s with rate %.1f MB/s", dir, try, got, rateMBps)
				if got > rateMBps*1.05 {
					t.Fatalf("%s rate %.3f MB/s beats the limit %.1f by more than 5%%", dir, got, rateMBps)
				}
				if got >= rateMBps*0.95 {
					return
				}
				if try == 3 {
					t.Fatalf("%s rate %.3f MB/s, want %.1f ±5%% (three tries)", dir, got, rateMBps)
				}
			}
		})
	}
}
