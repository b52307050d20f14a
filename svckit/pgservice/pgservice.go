// Package pgservice runs an HTTP service backed by PostgreSQL, as
// user-service and post-service are: the -healthcheck mode, PORT and
// POSTGRES_DSN, the pgx pool, schema migrations at start (or on first use
// when the database is late), the event bus at NATS_URL if set (events.go),
// /healthz, /readyz, /metrics, JSON logs and a graceful shutdown on SIGTERM. A service supplies only its store and routes.
package pgservice

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/pgstore"
	"github.com/caddysocial/platform/svckit/telemetry"
)

// Store is what the probes need from a service's data layer.
type Store interface {
	Ready(ctx context.Context) error // applies pending migrations
	Ping(ctx context.Context) error  // database reachable and migrated
}

// Wire builds a service's store over the pool and returns the function that
// registers its routes.
type Wire func(pool *pgxpool.Pool, log *slog.Logger) (Store, func(*http.ServeMux))

// Main is the whole main function of a service called name.
func Main(name string, wire Wire) {
	healthcheck := flag.Bool("healthcheck", false, "probe this service's /healthz on 127.0.0.1 and exit 0 if it answers 200")
	flag.Parse()
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	if *healthcheck {
		if err := httpx.Probe("http://127.0.0.1:" + port + "/healthz"); err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tel, err := telemetry.Start(ctx, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	err = run(ctx, tel.Log, name, ":"+port, os.Getenv("POSTGRES_DSN"), wire, tel.Collectors...)
	if err != nil {
		tel.Log.Error("exit", "error", err.Error())
	}
	tel.Shutdown(5 * time.Second)
	if err != nil {
		os.Exit(1)
	}
}

// run serves on addr until ctx ends.
func run(ctx context.Context, log *slog.Logger, name, addr, dsn string, wire Wire, extra ...prometheus.Collector) error {
	if dsn == "" {
		return fmt.Errorf("POSTGRES_DSN is not set")
	}
	handler, cleanup, err := NewHandler(ctx, log, name, dsn, wire, extra...)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return httpx.Serve(ctx, httpx.NewServer(addr, handler), ln, 20*time.Second, log)
}

// NewHandler wires the store, routes, probes and metrics (plus the extra
// collectors, e.g. the log shipper's), with a server span per request and a
// span per database query of a traced request. The returned cleanup closes
// the pool after the server has drained.
func NewHandler(ctx context.Context, log *slog.Logger, name, dsn string, wire Wire, extra ...prometheus.Collector) (http.Handler, func(), error) {
	cfg, err := pgstore.ParseConfig(dsn, os.Getenv(pgstore.MaxConnsEnv))
	if err != nil {
		return nil, nil, err
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	cfg.ConnConfig.Tracer = telemetry.QueryTracer{DBName: cfg.ConnConfig.Database}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create pool: %w", err)
	}
	st, routes := wire(pool, log)
	// Apply the schema now if the database is up; otherwise the first
	// request (or /readyz) does it.
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := st.Ready(mctx); err != nil {
		log.Warn("database not ready; schema will be applied on first use", "error", err.Error())
	}
	cancel()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	reg.MustRegister(pgstore.NewPoolCollector(pool, cfg.ConnConfig.Database))
	metrics := httpx.NewMetrics(reg, name)

	mux := http.NewServeMux()
	routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Ping(r.Context()); err != nil {
			// Not ready whatever the cause; the log says which.
			log.Warn("not ready", "error", err.Error(), "unavailable", pgstore.IsUnavailable(err))
			httpx.Error(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	httpx.NotFound(mux)
	stopEvents := startEvents(ctx, log, name, pool, st, reg)
	cleanup := func() {
		stopEvents()
		pool.Close()
	}
	return telemetry.Handler(httpx.Observe(mux, metrics, log), name), cleanup, nil
}
