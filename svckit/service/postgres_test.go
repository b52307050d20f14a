package service_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/pgtest"
	"github.com/caddysocial/platform/svckit/service"
)

// pingOnly is a Database without a schema.
type pingOnly struct{ pool *pgxpool.Pool }

func (p pingOnly) Ready(ctx context.Context) error { return p.pool.Ping(ctx) }
func (p pingOnly) Ping(ctx context.Context) error  { return p.pool.Ping(ctx) }

func TestPostgresOption(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var pool *pgxpool.Pool
	s, err := service.New(context.Background(), service.Options{Name: "test-service", Log: quiet}, func(s *service.Service) error {
		var err error
		if pool, err = s.Postgres(dsn); err != nil {
			return err
		}
		s.Database(pingOnly{pool})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 200, "ready")
	if m := apitest.Call(t, "GET", srv.URL+"/metrics", "", "").Raw; !strings.Contains(m, "pgxpool_") {
		t.Errorf("no pool metrics in\n%s", m)
	}
	pgtest.SetConnections(t, dsn, false)
	apitest.WantStatus(t, apitest.Call(t, "GET", srv.URL+"/readyz", "", ""), 503, "database unavailable")
	pgtest.SetConnections(t, dsn, true)
	s.Close()
	if err := pool.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("pool after Close: %v, want closed", err)
	}
}

func TestPostgresWithoutDSN(t *testing.T) {
	_, err := service.New(context.Background(), service.Options{Name: "user-service", Log: quiet}, func(s *service.Service) error {
		_, err := s.Postgres("")
		return err
	})
	if err == nil || err.Error() != "user-service: POSTGRES_DSN is not set" {
		t.Fatalf("%v", err)
	}
}
