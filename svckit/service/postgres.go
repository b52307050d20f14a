package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/httpx"
	"github.com/caddysocial/platform/svckit/pgstore"
	"github.com/caddysocial/platform/svckit/telemetry"
)

// Postgres opens a connection pool to the database at dsn (its size from
// the DSN or POSTGRES_MAX_CONNS, see pgstore.ParseConfig), with a span per
// query of a traced request and the pool's metrics; the pool closes with
// the service. It does not connect: the service starts before its database.
func (s *Service) Postgres(dsn string) (*pgxpool.Pool, error) {
	if dsn == "" {
		return nil, errors.New("POSTGRES_DSN is not set")
	}
	cfg, err := pgstore.ParseConfig(dsn, s.Env(pgstore.MaxConnsEnv, ""))
	if err != nil {
		return nil, err
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	cfg.ConnConfig.Tracer = telemetry.QueryTracer{DBName: cfg.ConnConfig.Database}
	pool, err := pgxpool.NewWithConfig(s.start, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	s.OnClose(pool.Close)
	if err := s.Registry.Register(pgstore.NewPoolCollector(pool, cfg.ConnConfig.Database)); err != nil {
		return nil, fmt.Errorf("pool metrics: %w", err)
	}
	return pool, nil
}

// Database is what the probes need from a PostgreSQL store (pgstore.Store
// has both).
type Database interface {
	Ready(ctx context.Context) error // applies pending migrations
	Ping(ctx context.Context) error  // database reachable and migrated
}

// Database applies db's schema now if the database is up (otherwise the
// first request or /readyz does it) and makes /readyz depend on db.
func (s *Service) Database(db Database) {
	ctx, cancel := context.WithTimeout(s.start, 10*time.Second)
	defer cancel()
	if err := db.Ready(ctx); err != nil {
		s.Log.Warn("database not ready; schema will be applied on first use", "error", err.Error())
	}
	s.ReadyWhen("database", db.Ping)
}

// Fail answers for an error that is not the client's: a connection-level
// database failure is 503 with Retry-After (it will pass); anything else is
// 500. Either way the cause is logged and never shown. A client that went
// away gets nothing.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	if pgstore.IsUnavailable(err) {
		log.Warn("database unavailable", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusServiceUnavailable, "database unavailable, try again")
		return
	}
	log.Error("internal error", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
	httpx.Error(w, http.StatusInternalServerError, "internal error")
}
