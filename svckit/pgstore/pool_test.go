package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/pgtest"
)

// A service's requests each hold a pooled connection for their statement:
// with the pool built as service.Postgres builds it, DefaultMaxConns requests must
// be in the database at the same time, none queued behind another in
// pgxpool.Acquire. Each statement waits on a row lock the test holds, so
// every request keeps its connection until the test has seen them all
// waiting in PostgreSQL (pg_stat_activity); then the lock goes and all
// finish. pgx's own default pool (max(4, CPUs)) let only 4 of them in on a
// two-CPU machine: the rest waited in Acquire while the CPU idled (issue 27).
func TestConcurrentStatementsDoNotQueueForAConnection(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	cfg, err := ParseConfig(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "concurrency-test"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := New(pool, time.Minute, schema, table)
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO items VALUES (1, 'locked')"); err != nil {
		t.Fatal(err)
	}

	// The test's own connections, outside the pool under test: one holds
	// the lock, one watches (pg_stat_activity is a snapshot per transaction).
	admin, watch := connect(t, dsn), connect(t, dsn)
	lock, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(ctx) }()
	if _, err := lock.Exec(ctx, "SELECT 1 FROM items WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	n := int(DefaultMaxConns())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx, cancel, err := s.Begin(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer cancel()
			_, err = s.Pool.Exec(ctx, "UPDATE items SET note = 'seen' WHERE id = 1")
			errs <- err
		})
	}
	waiting := func() (int, error) {
		var k int
		err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'concurrency-test' AND wait_event_type = 'Lock'`).Scan(&k)
		return k, err
	}
	err = eventually.Wait(30*time.Second, func() error {
		k, err := waiting()
		if err == nil && k < n {
			err = fmt.Errorf("%d of %d concurrent statements reached the database; the rest queue for a pooled connection (pool size %d)",
				k, n, pool.Stat().MaxConns())
		}
		return err
	})
	if rerr := lock.Rollback(ctx); rerr != nil {
		t.Fatal(rerr)
	}
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatal(err)
	}
	for err := range errs {
		if err != nil {
			t.Errorf("statement: %v", err)
		}
	}
	if st := pool.Stat(); st.TotalConns() > st.MaxConns() {
		t.Errorf("%d connections open, more than the pool's %d", st.TotalConns(), st.MaxConns())
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestParseConfigPoolSize(t *testing.T) {
	const dsn = "postgres://u:secret@db.example:5432/app?sslmode=disable"
	for _, c := range []struct {
		dsn, setting string
		want         int32
	}{
		{dsn, "", DefaultMaxConns()},
		{dsn, "24", 24},
		{dsn + "&pool_max_conns=3", "", 3},
		{dsn + "&pool_max_conns=3", "24", 3}, // the DSN's own parameter wins
		{"host=db.example user=u dbname=app pool_max_conns=5", "24", 5},
	} {
		cfg, err := ParseConfig(c.dsn, c.setting)
		if err != nil {
			t.Fatalf("ParseConfig(%q, %q): %v", c.dsn, c.setting, err)
		}
		if cfg.MaxConns != c.want {
			t.Errorf("ParseConfig(%q, %q): MaxConns %d, want %d", c.dsn, c.setting, cfg.MaxConns, c.want)
		}
		if _, ok := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; ok {
			t.Errorf("ParseConfig(%q): pool_max_conns would be sent to the server as a setting", c.dsn)
		}
	}
	if n := DefaultMaxConns(); n < minConns || n > maxConns {
		t.Errorf("DefaultMaxConns() = %d, want %d..%d", n, minConns, maxConns)
	}
	for _, bad := range []struct{ dsn, setting string }{
		{dsn, "0"}, {dsn, "-1"}, {dsn, "many"}, {dsn, "8.5"},
		{"postgres://u:secret@db.example/app?pool_max_conns=x", ""},
		{"postgres://u:secret@db.example:notaport/app", ""},
	} {
		_, err := ParseConfig(bad.dsn, bad.setting)
		if err == nil {
			t.Errorf("ParseConfig(%q, %q): no error", bad.dsn, bad.setting)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseConfig(%q, %q): the error shows the password: %v", bad.dsn, bad.setting, err)
		}
	}
}

// While one request applies the schema (here: waits for tern's advisory
// lock, as it does while another instance migrates), the others wait for
// it no longer than their own deadline. With a mutex they waited for the
// migration whatever their context said.
func TestReadyWaitsNoLongerThanItsContext(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	admin, watch := connect(t, dsn), connect(t, dsn)
	const ternLock = int64(9628173550095224) // github.com/jackc/tern/v2/migrate's lockNum
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", ternLock); err != nil {
		t.Fatal(err)
	}
	s := New(newPool(t, dsn), time.Minute, schema, table)
	first := make(chan error, 1)
	go func() { first <- s.Ready(ctx) }()
	eventually.True(t, 0, "a migration waiting for tern's lock", func() bool {
		var n int
		err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'`).Scan(&n)
		return err == nil && n == 1
	})

	second := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		second <- s.Ready(sctx)
	}()
	select {
	case err := <-second:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Ready during another's migration: %v, want its context's deadline", err)
		}
	case <-time.After(eventually.Timeout):
		t.Error("Ready waited for another caller's migration past its own deadline")
	}
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", ternLock); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the migration: %v", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if v := version(t, s.Pool); v != 2 {
		t.Fatalf("schema version %d, want 2", v)
	}
}
