package logship

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddysocial/platform/svckit/eventually"
)

// store is an HTTP server speaking VictoriaLogs' /insert/jsonline: it keeps
// every line it accepts, and answers 503 while down.
type store struct {
	srv   *httptest.Server
	down  atomic.Bool
	mu    sync.Mutex
	lines []map[string]any
	query []string
	ctype []string
}

func newStore(t *testing.T) *store {
	s := &store{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() || r.URL.Path != "/insert/jsonline" {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		var got []map[string]any
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				http.Error(w, "bad line "+sc.Text(), http.StatusBadRequest)
				return
			}
			got = append(got, m)
		}
		s.mu.Lock()
		s.lines = append(s.lines, got...)
		s.query = append(s.query, r.URL.RawQuery)
		s.ctype = append(s.ctype, r.Header.Get("Content-Type"))
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *store) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// waitFor waits for cond (the shipper works in the background; this waits
// for an outcome, it does not time one).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventually.True(t, 0, what, cond)
}

func TestShipsLinesWithFieldsAndParameters(t *testing.T) {
	st := newStore(t)
	s, err := New(Config{URL: st.srv.URL + "/", Fields: map[string]string{"service": "gateway"},
		MsgField: "msg", TimeField: "ts", FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	fmt.Fprintf(s, "{\"msg\":\"one\",\"ts\":\"2026-01-01T00:00:00Z\"}\n")
	fmt.Fprintf(s, "{\"msg\":\"two\"}\n{\"msg\":\"three\"}\n")
	waitFor(t, "3 lines", func() bool { return st.count() == 3 })
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, want := range []string{"one", "two", "three"} {
		if st.lines[i]["msg"] != want || st.lines[i]["service"] != "gateway" {
			t.Errorf("line %d = %v, want msg %q and service gateway", i, st.lines[i], want)
		}
	}
	if q := st.query[0]; q != "_msg_field=msg&_stream_fields=service&_time_field=ts" {
		t.Errorf("query = %q", q)
	}
	if st.ctype[0] != "application/stream+json" {
		t.Errorf("Content-Type = %q", st.ctype[0])
	}
	// The store has the lines before the shipper has its answer: wait for
	// the count rather than read it at once.
	waitFor(t, "Sent = 3", func() bool { return s.Stats().Sent == 3 })
}

func TestStoreOutageKeepsWhatFitsAndCountsDrops(t *testing.T) {
	st := newStore(t)
	st.down.Store(true)
	line := []byte(`{"msg":"` + string(bytes.Repeat([]byte("x"), 90)) + `"}` + "\n") // 100 bytes
	s, err := New(Config{URL: st.srv.URL, MaxBuffer: 1000, FlushInterval: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	// While the store is down, 30 lines: one batch is held for retry, the
	// buffer takes what fits, the rest is dropped; no Write blocks.
	for range 30 {
		if n, err := s.Write(line); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "a failed send", func() bool { return s.Stats().Failures > 0 })
	stats := s.Stats()
	if stats.Dropped == 0 || stats.Buffered == 0 || stats.Buffered > 2*1000 {
		t.Fatalf("during the outage: %+v, want some dropped, at most 2 buffers held", stats)
	}
	// Back: everything held is delivered, nothing twice.
	st.down.Store(false)
	kept := 30 - int(stats.Dropped)
	waitFor(t, "the held lines", func() bool { return st.count() == kept })
	fmt.Fprintf(s, "{\"msg\":\"after\"}\n")
	waitFor(t, "the line after recovery", func() bool { return st.count() == kept+1 })
	waitFor(t, "Sent to count it", func() bool { return s.Stats().Sent >= uint64(kept+1) })
	if got := s.Stats(); got.Sent != uint64(kept+1) || got.Dropped != stats.Dropped {
		t.Errorf("after recovery: %+v, want Sent %d, Dropped %d", got, kept+1, stats.Dropped)
	}
}

func TestCloseFlushes(t *testing.T) {
	st := newStore(t)
	s, err := New(Config{URL: st.srv.URL, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(s, "{\"msg\":\"last words\"}\n")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.count() != 1 {
		t.Fatalf("store has %d lines after Close, want 1", st.count())
	}
}

func TestCloseWithStoreDownCountsUnsentAsDropped(t *testing.T) {
	st := newStore(t)
	st.down.Store(true)
	s, err := New(Config{URL: st.srv.URL, FlushInterval: time.Hour, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(s, "{\"msg\":\"a\"}\n{\"msg\":\"b\"}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Dropped != 2 || got.Sent != 0 {
		t.Fatalf("stats = %+v, want 2 dropped", got)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "victoria-logs:9428", "ftp://x", "http://"} {
		if _, err := New(Config{URL: u}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}

// A store that never answers delays nothing: Write returns at once and the
// POST gives up after Timeout.
func TestHangingStoreDoesNotBlockWrites(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := New(Config{URL: srv.URL, FlushInterval: 5 * time.Millisecond, Timeout: 50 * time.Millisecond, MaxBuffer: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10_000 {
			fmt.Fprintf(s, "{\"msg\":\"x\"}\n")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writes blocked on a hanging store")
	}
	waitFor(t, "a timed-out send", func() bool { return s.Stats().Failures > 0 })
	if s.Stats().Dropped == 0 {
		t.Error("nothing dropped although 10,000 lines exceed the buffer")
	}
}
