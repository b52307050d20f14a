// Package pgstore is the part of a PostgreSQL data layer every store of the
// platform shares (auth-db, user-db, post-db): statements bounded by a
// timeout, the schema applied lazily from embedded migrations (so a service
// starts before its database and migrates when it comes), the
// classification of errors into "database unavailable" and everything else,
// and the connection pool's configuration and metrics.
//
// The pool (pool.go): ParseConfig sizes it from the DSN's pool_max_conns,
// else POSTGRES_MAX_CONNS, else DefaultMaxConns (4 per CPU of the process,
// 8 to 16), because with pgx's own default (max(4, CPUs)) requests queued
// for a connection, writes most (issue 27, docs/BENCHMARKS.md "Service hot
// path"). PoolCollector exports pgxpool's statistics
// (pgxpool_*: acquires, the time they waited, connections in use) so that a
// pool too small for its load shows on /metrics.
package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultTimeout bounds a statement when New is given no timeout.
const DefaultTimeout = 5 * time.Second

// Store is embedded by a service's store: Begin before each operation, Pool
// to run statements.
type Store struct {
	Pool    *pgxpool.Pool
	Timeout time.Duration

	migrations   fs.FS
	versionTable string
	also         []migrationSet // further schemas, e.g. the events tables

	// migrating is a one-slot semaphore held while migrations run: unlike a
	// mutex, a waiter gives up when its context ends. migrated is read
	// without it on every statement (Begin), so that requests never queue
	// on one lock once the schema is in place.
	migrating chan struct{}
	migrated  atomic.Bool
}

// New returns a Store over pool whose schema is the migrations in files
// (the root of files holds the .sql files), versioned in versionTable.
// timeout <= 0 means DefaultTimeout.
func New(pool *pgxpool.Pool, timeout time.Duration, files fs.FS, versionTable string) *Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Store{Pool: pool, Timeout: timeout, migrations: files, versionTable: versionTable, migrating: make(chan struct{}, 1)}
}

type migrationSet struct {
	files        fs.FS
	versionTable string
}

// Also adds a second, independently versioned schema (a shared package's
// tables, such as svckit/events'), applied after the store's own. Call it
// before first use.
func (s *Store) Also(files fs.FS, versionTable string) *Store {
	s.also = append(s.also, migrationSet{files, versionTable})
	return s
}

// Sub is fs.Sub for an embedded migrations directory that is known to exist.
func Sub(files fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(fmt.Sprintf("pgstore: migrations directory %q: %v", dir, err)) // a build-time mistake
	}
	return sub
}

// Ready applies pending migrations if that has not succeeded yet; after a
// failure the next call tries again.
func (s *Store) Ready(ctx context.Context) error {
	if s.migrated.Load() {
		return nil
	}
	select {
	case s.migrating <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for schema migrations: %w", ctx.Err())
	}
	defer func() { <-s.migrating }()
	if s.migrated.Load() {
		return nil
	}
	if err := Migrate(ctx, s.Pool, s.migrations, s.versionTable); err != nil {
		return err
	}
	for _, m := range s.also {
		if err := Migrate(ctx, s.Pool, m.files, m.versionTable); err != nil {
			return err
		}
	}
	s.migrated.Store(true)
	return nil
}

// Ping checks that the database answers and the schema is in place.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := s.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Begin bounds ctx by the statement timeout and makes sure the schema
// exists; the caller runs its statements with the returned context and
// calls cancel when done.
func (s *Store) Begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	if err := s.Ready(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, cancel, nil
}
