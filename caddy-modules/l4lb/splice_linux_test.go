package l4lb

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns both ends of one loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestSpliceIsByteExact: src → splice → dst moves every byte in order, ends
// at the sender's EOF, and really takes the splice path.
func TestSpliceIsByteExact(t *testing.T) {
	sender, src := tcpPair(t)
	dst, receiver := tcpPair(t)
	payload := make([]byte, 12<<20)
	rand.Read(payload)
	go func() {
		sender.Write(payload)
		sender.CloseWrite()
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(receiver)
		got <- b
	}()
	n, handled, err := splice(dst, src)
	if !handled || err != nil || n != int64(len(payload)) {
		t.Fatalf("splice = %d, handled %v, %v; want %d, true, nil", n, handled, err, len(payload))
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("received %d bytes, equal %v", len(b), bytes.Equal(b, payload))
	}
}

// TestBulkCopyRestartsAfterDeadlineWithoutLoss: the idle timeout's read
// deadline interrupts the copy between bursts; restarting it, as
// transferUntilIdle does, must lose and reorder nothing.
func TestBulkCopyRestartsAfterDeadlineWithoutLoss(t *testing.T) {
	sender, src := tcpPair(t)
	dst, receiver := tcpPair(t)
	sent := make(chan []byte, 1)
	go func() {
		want := sha256.New()
		for i := 0; i < 6; i++ {
			burst := make([]byte, 3<<20)
			rand.Read(burst)
			want.Write(burst)
			sender.Write(burst)
			time.Sleep(60 * time.Millisecond) // longer than the read deadline below
		}
		sender.CloseWrite()
		sent <- want.Sum(nil)
	}()
	gotHash := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		io.Copy(h, receiver)
		gotHash <- h.Sum(nil)
	}()
	var total int64
	deadlines := 0
	for {
		src.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := bulkCopy(dst, src)
		total += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			deadlines++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	dst.CloseWrite()
	want := <-sent
	if got := <-gotHash; total != 18<<20 || !bytes.Equal(got, want) {
		t.Fatalf("moved %d bytes (want %d), hash equal %v", total, 18<<20, bytes.Equal(got, want))
	}
	if deadlines == 0 {
		t.Fatal("no read deadline fired: the test did not exercise the restart")
	}
}
