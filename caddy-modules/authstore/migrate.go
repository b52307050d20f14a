package authstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records the applied schema version (tern's format).
const versionTable = "public.auth_schema_version"

// Migrate applies the embedded migrations that are not applied yet. tern holds
// a PostgreSQL advisory lock while it migrates, so gateway replicas that start
// together apply each migration exactly once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection for migrations: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err == nil {
		var sub fs.FS
		if sub, err = fs.Sub(migrationFiles, "migrations"); err == nil {
			err = m.LoadMigrations(sub)
		}
	}
	if err == nil {
		err = m.Migrate(ctx)
	}
	if err != nil {
		// A failure part-way may leave tern's session-level advisory lock held on
		// this connection; close it rather than hand it back to the pool.
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		return fmt.Errorf("migrate auth schema: %w", err)
	}
	return nil
}
