package gatewayauth

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/telemetry"
)

// pools holds the auth-db connection pools across config reloads: a reload
// with the same database settings reuses the open pool instead of dropping
// and re-dialling every connection.
var pools = caddy.NewUsagePool()

type poolHandle struct{ pool *pgxpool.Pool }

func (p poolHandle) Destruct() error {
	p.pool.Close()
	return nil
}

func (a *App) loadPool() (*pgxpool.Pool, error) {
	maxConns := a.MaxConns
	if maxConns == 0 {
		maxConns = 10
	}
	a.poolKey = fmt.Sprintf("%d|%s", maxConns, a.Database)
	val, _, err := pools.LoadOrNew(a.poolKey, func() (caddy.Destructor, error) {
		cfg, err := pgxpool.ParseConfig(a.Database)
		if err != nil {
			// The parse error may echo the URL, which holds the password.
			return nil, fmt.Errorf("auth: database: not a valid PostgreSQL connection URL")
		}
		cfg.MaxConns = maxConns
		if cfg.ConnConfig.ConnectTimeout == 0 {
			cfg.ConnConfig.ConnectTimeout = 3 * time.Second
		}
		cfg.HealthCheckPeriod = 15 * time.Second
		// A span per auth-db query of a traced request.
		cfg.ConnConfig.Tracer = telemetry.QueryTracer{DBName: cfg.ConnConfig.Database}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			return nil, fmt.Errorf("auth: create auth-db pool: %w", err)
		}
		return poolHandle{pool}, nil
	})
	if err != nil {
		a.poolKey = ""
		return nil, err
	}
	return val.(poolHandle).pool, nil
}
