package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/service"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func hello(s *service.Service) error {
	s.Mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"hello":"`+s.Env("GREETING", "world")+`"}`)
	})
	return nil
}

func TestServesRoutesProbesAndMetrics(t *testing.T) {
	env := map[string]string{"GREETING": "there"}
	s, err := service.New(context.Background(), service.Options{Name: "test-service", Log: quiet, Getenv: func(k string) string { return env[k] }}, hello)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })

	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/hello", "", ""), 200, `"there"`)
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/healthz", "", ""), 200, "ok")
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 200, "ready")
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/nothing", "", ""), 404, "not found")
	r := apitest.Call(t, "GET", srv.URL+"/metrics", "", "")
	for _, want := range []string{
		`http_requests_total{code="200",method="GET",route="GET /hello",service="test-service"} 1`,
		`go_goroutines`, `process_cpu_seconds_total`,
	} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestReadinessChecks(t *testing.T) {
	var down atomic.Bool
	s, err := service.New(context.Background(), service.Options{Name: "test-service", Log: quiet}, func(s *service.Service) error {
		s.ReadyWhen("upstream", func(context.Context) error {
			if down.Load() {
				return errors.New("connection refused")
			}
			return nil
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 200, "ready")
	down.Store(true)
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 503, "upstream unavailable")
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/healthz", "", ""), 200, "ok")
}

// A failing build is an error naming the service and the cause, and what the
// build had started is stopped and closed.
func TestFailingBuildIsAClearError(t *testing.T) {
	var stopped, closed atomic.Bool
	cause := errors.New("FEED_FANOUT: want a positive integer")
	_, err := service.New(context.Background(), service.Options{Name: "test-service", Log: quiet}, func(s *service.Service) error {
		s.Go(func(ctx context.Context) { <-ctx.Done(); stopped.Store(true) })
		s.OnClose(func() { closed.Store(true) })
		return cause
	})
	if !errors.Is(err, cause) || err.Error() != "test-service: FEED_FANOUT: want a positive integer" {
		t.Fatalf("error %v, want the service's name and the cause", err)
	}
	if !stopped.Load() || !closed.Load() {
		t.Fatalf("after a failed build: goroutine stopped %v, closed %v; want both", stopped.Load(), closed.Load())
	}
	if err := service.Run(context.Background(), "127.0.0.1:0", service.Options{Name: "test-service", Log: quiet}, func(*service.Service) error { return cause }); !errors.Is(err, cause) {
		t.Fatalf("Run: %v, want the build's error", err)
	}
}

// Serve stops when its context ends: in-flight requests finish, then the
// goroutines end, then the OnClose functions run, last registered first.
func TestStopsOnContextInOrder(t *testing.T) {
	var order []string
	entered, release := make(chan struct{}), make(chan struct{})
	s, err := service.New(context.Background(), service.Options{Name: "test-service", Log: quiet}, func(s *service.Service) error {
		s.Mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{}`)
		})
		s.OnClose(func() { order = append(order, "pool") })
		s.OnClose(func() { order = append(order, "bus") })
		s.Go(func(ctx context.Context) {
			<-ctx.Done()
			order = append(order, "relay") // before the closers: no lock needed
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	eventually.NoError(t, 0, "the server answers", func() error { _, err := apitest.Send("GET", base+"/healthz", "", ""); return err })

	slow := make(chan apitest.Reply, 1)
	go func() { r, _ := apitest.Send("GET", base+"/slow", "", ""); slow <- r }()
	<-entered
	cancel()
	// The server stops accepting, then waits for the request in flight.
	eventually.True(t, 0, "the listener is closed", func() bool {
		_, err := apitest.Send("GET", base+"/healthz", "", "")
		return err != nil
	})
	close(release)
	if r := <-slow; r.Status != 200 {
		t.Fatalf("in-flight request during shutdown: %d %s", r.Status, r.Raw)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(service.Drain + 10*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if strings.Join(order, " ") != "relay bus pool" {
		t.Fatalf("stop order %v, want relay bus pool", order)
	}
}
