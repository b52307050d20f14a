package pgstore

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// Migrate applies the migrations in dir of files (tern's NNN_name.sql files)
// that are not applied yet, recording the version in versionTable. tern
// holds a PostgreSQL advisory lock while it migrates, so instances that start
// together apply each migration exactly once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, files fs.FS, versionTable string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection for migrations: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err == nil {
		err = m.LoadMigrations(files)
	}
	if err == nil {
		err = m.Migrate(ctx)
	}
	if err != nil {
		// A failure part-way may leave tern's session-level advisory lock held
		// on this connection; close it rather than hand it back to the pool.
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		return fmt.Errorf("migrate schema %s: %w", versionTable, err)
	}
	return nil
}
