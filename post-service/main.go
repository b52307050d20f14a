// Command post-service serves posts (SPEC.md
// section 3) on :5000, from the PostgreSQL database at POSTGRES_DSN.
package main

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

	"github.com/caddysocial/platform/post-service/internal/api"
	"github.com/caddysocial/platform/post-service/internal/httpx"
	"github.com/caddysocial/platform/post-service/internal/store"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe this service's /healthz on 127.0.0.1 and exit 0 if it answers 200")
	flag.Parse()
	port := env("PORT", "5000")
	if *healthcheck {
		if err := httpx.Probe("http://127.0.0.1:" + port + "/healthz"); err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "post-service")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, ":"+port, os.Getenv("POSTGRES_DSN")); err != nil {
		log.Error("exit", "error", err.Error())
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run serves on addr until ctx ends.
func run(ctx context.Context, log *slog.Logger, addr, dsn string) error {
	if dsn == "" {
		return fmt.Errorf("POSTGRES_DSN is not set")
	}
	handler, cleanup, err := newHandler(ctx, log, dsn)
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

// newHandler wires the store, API, probes and metrics. The returned cleanup
// closes the pool after the server has drained.
func newHandler(ctx context.Context, log *slog.Logger, dsn string) (http.Handler, func(), error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("POSTGRES_DSN is not a valid PostgreSQL connection string")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create pool: %w", err)
	}
	st := store.New(pool, 5*time.Second)
	// Apply the schema now if the database is up; otherwise the first request
	// (or /readyz) does it.
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := st.Ready(mctx); err != nil {
		log.Warn("database not ready; schema will be applied on first use", "error", err.Error())
	}
	cancel()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpx.NewMetrics(reg, "post-service")

	mux := http.NewServeMux()
	(&api.API{Store: st, Log: log}).Routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Ping(r.Context()); err != nil {
			httpx.Error(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	httpx.NotFound(mux)
	return httpx.Observe(mux, metrics, log), pool.Close, nil
}
