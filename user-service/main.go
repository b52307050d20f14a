// Command user-service serves user profiles and friendships (SPEC.md
// section 3) on :5000, from the PostgreSQL database at POSTGRES_DSN.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/pgservice"
	"github.com/caddysocial/platform/user-service/internal/api"
	"github.com/caddysocial/platform/user-service/internal/store"
)

const name = "user-service"

func main() { pgservice.Main(name, wire) }

func wire(pool *pgxpool.Pool, log *slog.Logger) (pgservice.Store, func(*http.ServeMux)) {
	st := store.New(pool, 5*time.Second)
	return st, (&api.API{Store: st, Log: log}).Routes
}

// newHandler is the service's handler, for the tests.
func newHandler(ctx context.Context, log *slog.Logger, dsn string) (http.Handler, func(), error) {
	return pgservice.NewHandler(ctx, log, name, dsn, wire)
}
