package httpx

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func TestServeDrainsInFlightRequestsOnShutdown(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		WriteJSON(w, http.StatusOK, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, NewServer("", h), ln, 5*time.Second, quiet) }()

	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- strings.TrimSpace(string(body))
	}()
	<-started
	cancel() // SIGTERM arrives while the request is in flight
	if body := <-got; body != `"done"` {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestPanicIsAJSON500(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("secret detail") })
	h := Observe(mux, NewMetrics(prometheus.NewRegistry(), "test"), quiet)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := NewServer("", h)
	go srv.Serve(ln)
	defer srv.Close()
	res, err := http.Get("http://" + ln.Addr().String() + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || strings.Contains(string(body), "secret") || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if err := Probe("http://" + ln.Addr().String() + "/boom"); err == nil {
		t.Fatal("Probe accepted a 500")
	}
}

func TestQueryUUIDs(t *testing.T) {
	a, b := "6f1c2c9e-3b1d-4f7a-9a53-0c4a3c1d2e01", "6F1C2C9E-3B1D-4F7A-9A53-0C4A3C1D2E02"
	for _, c := range []struct {
		query  string
		status int
		want   string // the ids joined, or the error's start
	}{
		{"ids=" + a + "," + b + "," + a, 200, a + "," + strings.ToLower(b)},
		{"ids=" + a + ",%20" + b, 200, a + "," + strings.ToLower(b)},
		{"", 400, `{"error":"Missing: ids must list 1 to 3 comma-separated UUIDs"}`},
		{"ids=", 400, `{"error":"Missing: ids must list`},
		{"ids=" + a + ",nope", 400, `{"error":"Bad: ids entry 2 is not a UUID"}`},
		{"ids=" + a + ",", 400, `{"error":"Bad: ids entry 2 is not a UUID"}`},
		{"ids=" + strings.Repeat(a+",", 3) + a, 400, `{"error":"Bad: ids lists more than 3 ids"}`},
	} {
		w := httptest.NewRecorder()
		ids, ok := QueryUUIDs(w, httptest.NewRequest("GET", "/x?"+c.query, nil), "ids", 3, "Missing", "Bad")
		if c.status == 200 {
			if !ok || strings.Join(ids, ",") != c.want {
				t.Errorf("%q: %v %v, want %s", c.query, ids, ok, c.want)
			}
			continue
		}
		if ok || w.Code != c.status || !strings.HasPrefix(w.Body.String(), c.want) {
			t.Errorf("%q: %d %s, want %d %s", c.query, w.Code, w.Body.String(), c.status, c.want)
		}
	}
}

// A keep-alive connection is reused until it is older than the limit; the
// first response after that closes it, and the client opens a new one. The
// connections' clock is the test's, so a slow machine cannot age them.
func TestOldConnectionsAreClosed(t *testing.T) {
	var elapsed atomic.Int64 // nanoseconds the test has moved the clock on
	base := time.Now()
	clock = func() time.Time { return base.Add(time.Duration(elapsed.Load())) }
	t.Cleanup(func() { clock = time.Now })
	var conns atomic.Int32
	srv := &http.Server{
		Handler:     closeOldConns(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), MaxConnAge),
		ConnContext: connStart,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	get := func() *http.Response {
		t.Helper()
		res, err := client.Get("http://" + ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := get(); res.Close {
		t.Fatal("a new connection was closed")
	}
	if res := get(); res.Close || conns.Load() != 1 {
		t.Fatalf("a young connection was not reused (close %v, %d connections)", res.Close, conns.Load())
	}
	elapsed.Store(int64(MaxConnAge - time.Nanosecond))
	if res := get(); res.Close || conns.Load() != 1 {
		t.Fatalf("a connection just younger than MaxConnAge was not reused (close %v, %d connections)", res.Close, conns.Load())
	}
	elapsed.Store(int64(MaxConnAge + time.Nanosecond))
	if res := get(); !res.Close {
		t.Fatal("an old connection was kept")
	}
	get()
	if got := conns.Load(); got != 2 {
		t.Fatalf("%d connections, want 2 (the old one replaced)", got)
	}
}
