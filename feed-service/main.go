// Command feed-service serves GET /feed (SPEC.md section 3) on :5000: the
// newest posts of the caller's friends, from user-lb and post-lb.
//
// Environment: USER_LB_URL (http://user-lb:9001), POST_LB_URL
// (http://post-lb:9002), PORT (5000), FEED_DEADLINE (5s), FEED_FANOUT (32),
// NATS_URL (unset: no username cache, no live feed; see events.go).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/caddysocial/platform/feed-service/internal/feed"
	"github.com/caddysocial/platform/feed-service/internal/upstream"
	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/telemetry"
)

// Config is the service's settings.
type Config struct {
	UserLB, PostLB string
	Deadline       time.Duration
	Fanout         int
	Policy         upstream.Policy
	Bus            *events.Bus   // nil without NATS_URL
	Heartbeat      time.Duration // of the live feed; default 10s
}

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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Logs (VICTORIA_LOGS_URL) and traces (OTEL_*), each off when unset.
	tel, err := telemetry.Start(ctx, "feed-service")
	if err != nil {
		fmt.Fprintln(os.Stderr, "feed-service:", err)
		os.Exit(2)
	}
	if err := serve(ctx, port, tel); err != nil {
		tel.Log.Error("exit", "error", err.Error())
		tel.Shutdown(5 * time.Second)
		os.Exit(1)
	}
	tel.Shutdown(5 * time.Second)
}

// serve runs the service on port until ctx ends.
func serve(ctx context.Context, port string, tel *telemetry.Runtime) error {
	cfg, err := configFromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if url := os.Getenv("NATS_URL"); url != "" {
		if cfg.Bus, err = events.Connect(url, "feed-service", tel.Log); err != nil {
			return fmt.Errorf("NATS_URL: %w", err)
		}
		defer cfg.Bus.Close()
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return httpx.Serve(ctx, httpx.NewServer(":"+port, newHandler(cfg, tel.Log, tel.Collectors...)), ln, 20*time.Second, tel.Log)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func configFromEnv() (Config, error) {
	cfg := Config{
		UserLB: env("USER_LB_URL", "http://user-lb:9001"),
		PostLB: env("POST_LB_URL", "http://post-lb:9002"),
		Policy: upstream.DefaultPolicy,
	}
	var err error
	if cfg.Deadline, err = time.ParseDuration(env("FEED_DEADLINE", "5s")); err != nil || cfg.Deadline <= 0 {
		return cfg, fmt.Errorf("FEED_DEADLINE: want a positive duration, got %q", os.Getenv("FEED_DEADLINE"))
	}
	if cfg.Fanout, err = strconv.Atoi(env("FEED_FANOUT", "32")); err != nil || cfg.Fanout < 1 {
		return cfg, fmt.Errorf("FEED_FANOUT: want a positive integer, got %q", os.Getenv("FEED_FANOUT"))
	}
	cfg.Policy.MaxConns = max(cfg.Policy.MaxConns, 2*cfg.Fanout)
	return cfg, nil
}

// newHandler wires the upstream clients, /feed, the probes and metrics
// (plus the extra collectors, e.g. the log shipper's), with a server span
// per request and a client span per upstream call.
func newHandler(cfg Config, log *slog.Logger, extra ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	metrics := httpx.NewMetrics(reg, "feed-service")
	um := upstream.NewMetrics(reg)
	users := upstream.New("user-lb", cfg.UserLB, cfg.Policy, um)
	posts := upstream.New("post-lb", cfg.PostLB, cfg.Policy, um)

	lookup := &feed.ProfileLookup{Users: users, Fanout: cfg.Fanout}
	names, stream := liveFeed(cfg.Bus, cmp.Or(cfg.Heartbeat, 10*time.Second), users, lookup, reg, log)
	stream.Metrics = feed.NewStreamMetrics(reg)

	mux := http.NewServeMux()
	stream.Routes(mux)
	(&feed.Handler{
		Builder:  &feed.Builder{Users: users, Posts: posts, Fanout: cfg.Fanout, Names: names},
		Deadline: cfg.Deadline,
		Log:      log,
		Partial:  feed.NewPartialCounter(reg),
	}).Routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		for _, u := range []*upstream.Client{users, posts} {
			if err := u.Ping(ctx, "/healthz"); err != nil {
				httpx.Error(w, http.StatusServiceUnavailable, "upstreams unavailable")
				return
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	httpx.NotFound(mux)
	return telemetry.Handler(httpx.Observe(mux, metrics, log), "feed-service")
}
