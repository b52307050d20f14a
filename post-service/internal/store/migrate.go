package store

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

const versionTable = "public.post_service_schema_version"

// Migrate applies pending migrations. tern holds an advisory lock while it
// migrates, so two instances starting together apply each migration once.
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
		// tern's session advisory lock may still be held on this connection.
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		return fmt.Errorf("migrate schema: %w", err)
	}
	return nil
}
