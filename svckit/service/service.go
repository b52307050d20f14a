// Package service runs one of the platform's HTTP services, whatever it
// stores: the -healthcheck mode, PORT, SIGINT/SIGTERM, logs, traces and
// profiles (svckit/telemetry), a Prometheus registry, /healthz, /readyz and
// /metrics, the goroutines the service starts and a graceful shutdown. A
// service supplies a build function that wires its parts onto the Service:
//
//	func main() { service.Main("post-service", build) }
//
//	func build(s *service.Service) error {
//		pool, err := s.Postgres(s.Env("POSTGRES_DSN", ""))
//		...
//		(&api.API{...}).Routes(s.Mux)
//		return nil
//	}
//
// PostgreSQL (postgres.go) and the event bus (events.go) are options a build
// takes, not parts of the runner.
package service

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/telemetry"
)

// Drain is how long in-flight requests may take to finish after a stop
// signal (Kubernetes' default grace period is 30 s).
const Drain = 20 * time.Second

// Service is one running instance of a service, handed to its build
// function. Build registers routes on Mux and collectors into Registry,
// starts background work with Go and releases resources with OnClose.
type Service struct {
	Name     string
	Log      *slog.Logger
	Mux      *http.ServeMux
	Registry *prometheus.Registry

	getenv func(string) string
	start  context.Context // the caller's context, for work done while building
	ctx    context.Context // ends when the service closes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closers []func()
	checks  []readiness
	handler http.Handler
	closed  bool

	consumerMetrics *events.ConsumerMetrics // created by the first Consume
}

type readiness struct {
	what  string
	check func(context.Context) error
}

// Options are what New needs besides the build function. Main fills them
// from the process; tests fill them directly.
type Options struct {
	Name string
	Log  *slog.Logger // default: slog.Default()
	// Getenv reads the service's settings (Service.Env). Default os.Getenv.
	Getenv func(string) string
	// Collectors are registered besides the Go and process collectors
	// (e.g. the log shipper's).
	Collectors []prometheus.Collector
}

// Main is the whole main function of a service called name: it answers
// -healthcheck, or serves on :PORT (5000) until SIGINT or SIGTERM. A
// failing build or server ends the process with status 1.
func Main(name string, build func(*Service) error) {
	healthcheck := flag.Bool("healthcheck", false, "probe this service's /healthz on 127.0.0.1 and exit 0 if it answers 200")
	flag.Parse()
	port := cmp.Or(os.Getenv("PORT"), "5000")
	if *healthcheck {
		if err := httpx.Probe("http://127.0.0.1:" + port + "/healthz"); err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Logs (VICTORIA_LOGS_URL), traces (OTEL_*) and profiles (DEBUG_ADDR).
	tel, err := telemetry.Start(ctx, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	err = Run(ctx, ":"+port, Options{Name: name, Log: tel.Log, Collectors: tel.Collectors}, build)
	if err != nil {
		tel.Log.Error("exit", "error", err.Error())
	}
	// After the drain: the last requests' spans and log lines are sent.
	tel.Shutdown(5 * time.Second)
	if err != nil {
		os.Exit(1)
	}
}

// Run builds the service and serves it on addr until ctx ends.
func Run(ctx context.Context, addr string, opts Options, build func(*Service) error) error {
	s, err := New(ctx, opts, build)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// New builds a service: build wires it, then the probes and /metrics are
// added. ctx bounds the building only; the service lives until Close. If
// build fails, what it opened is closed and the error names the service.
func New(ctx context.Context, opts Options, build func(*Service) error) (*Service, error) {
	if opts.Name == "" {
		return nil, errors.New("service: no name")
	}
	s := &Service{
		Name:     opts.Name,
		Log:      cmp.Or(opts.Log, slog.Default()),
		Mux:      http.NewServeMux(),
		Registry: prometheus.NewRegistry(),
		getenv:   opts.Getenv,
		start:    ctx,
	}
	if s.getenv == nil {
		s.getenv = os.Getenv
	}
	// Background work outlives the stop signal: it ends after the drain, so
	// that the requests still in flight have their relay and consumers.
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range opts.Collectors {
		if err := s.Registry.Register(c); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: register collector: %w", s.Name, err)
		}
	}
	metrics := httpx.NewMetrics(s.Registry, s.Name)
	if err := build(s); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.Mux.HandleFunc("GET /readyz", s.readyz)
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	httpx.NotFound(s.Mux)
	// A server span per request around the access log and metrics.
	s.handler = telemetry.Handler(httpx.Observe(s.Mux, metrics, s.Log), s.Name)
	return s, nil
}

// Env is the setting key, or def when it is unset or empty.
func (s *Service) Env(key, def string) string {
	return cmp.Or(s.getenv(key), def)
}

// Context is the service's lifetime: it ends when the service closes, after
// the server has drained. Goroutines started by Go receive it.
func (s *Service) Context() context.Context { return s.ctx }

// Starting is the context of the start-up: the caller's, which a stop signal
// ends. Work done while building (a first migration, say) uses it.
func (s *Service) Starting() context.Context { return s.start }

// Go runs f in a goroutine the service owns: Close cancels f's context and
// waits for f to return before anything is closed.
func (s *Service) Go(f func(ctx context.Context)) {
	s.wg.Go(func() { f(s.ctx) })
}

// OnClose registers f to run at Close, after the goroutines have returned;
// the last registered runs first (as defers do), so a resource opened later,
// which may use an earlier one, is closed before it.
func (s *Service) OnClose(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, f)
}

// ReadyWhen adds a readiness check: /readyz answers 503 "<what>
// unavailable" while check fails (the log says why), 200 when all pass.
func (s *Service) ReadyWhen(what string, check func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readiness{what, check})
}

func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := slices.Clone(s.checks)
	s.mu.Unlock()
	for _, c := range checks {
		if err := c.check(r.Context()); err != nil {
			s.Log.Warn("not ready", "check", c.what, "error", err.Error())
			httpx.Error(w, http.StatusServiceUnavailable, c.what+" unavailable")
			return
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Handler is the service's HTTP handler: routes, probes and /metrics, with
// a server span, an access log line and metrics per request.
func (s *Service) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx ends, lets in-flight requests finish for at
// most Drain, then closes the service.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close()
	return httpx.Serve(ctx, httpx.NewServer(ln.Addr().String(), s.handler), ln, Drain, s.Log)
}

// Close stops the service's goroutines, waits for them, then runs the
// OnClose functions, last first. It is safe to call more than once.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	for _, f := range slices.Backward(s.closers) {
		f()
	}
}
