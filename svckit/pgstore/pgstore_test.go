package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/pgtest"
)

var schema = fstest.MapFS{
	"001_items.sql": {Data: []byte("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);")},
	"002_more.sql":  {Data: []byte("ALTER TABLE items ADD COLUMN note text;")},
}

const table = "public.test_schema_version"

func newPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func version(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var v int
	if err := pool.QueryRow(context.Background(), "SELECT version FROM "+table).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConcurrentMigrationsApplyOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 { // four instances starting at once, each with its own pool
		s := New(newPool(t, dsn), time.Minute, schema, table)
		wg.Go(func() { errs <- s.Ready(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v := version(t, newPool(t, dsn)); v != 2 {
		t.Fatalf("schema version %d, want 2", v)
	}
}

func TestReadyRetriesAfterAFailure(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.SetConnections(t, dsn, false)
	s := New(newPool(t, dsn), 5*time.Second, schema, table)
	err := s.Ping(context.Background())
	if err == nil || !IsUnavailable(err) {
		t.Fatalf("Ping with the database closed: %v, want an unavailability error", err)
	}
	pgtest.SetConnections(t, dsn, true)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping after the database opened: %v", err)
	}
	if v := version(t, s.Pool); v != 2 {
		t.Fatalf("schema version %d, want 2", v)
	}
}

func TestBrokenMigrationIsNotUnavailability(t *testing.T) {
	broken := fstest.MapFS{"001_bad.sql": {Data: []byte("CREATE TABLE (;")}}
	s := New(newPool(t, pgtest.NewDatabase(t)), 5*time.Second, broken, table)
	if _, _, err := s.Begin(context.Background()); err == nil || IsUnavailable(err) {
		t.Fatalf("broken migration: %v, want an error that is not unavailability", err)
	}
}

func TestIsUnavailableAgainstARealDatabase(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t, pgtest.NewDatabase(t)), 5*time.Second, schema, table)
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	_, syntax := s.Pool.Exec(ctx, "SELEC 1")
	_, dup := s.Pool.Exec(ctx, "INSERT INTO items VALUES (1, 'a'), (1, 'b')")
	_, nul := s.Pool.Exec(ctx, "INSERT INTO items VALUES (2, $1)", "a\x00b")
	_, cancelled := s.Pool.Exec(ctx, "SET statement_timeout = 10; SELECT pg_sleep(1)")
	for name, err := range map[string]error{"syntax": syntax, "unique": dup, "NUL": nul, "statement_timeout": cancelled} {
		if err == nil || IsUnavailable(err) {
			t.Errorf("%s: IsUnavailable(%v) = true or no error; want a fault, not unavailability", name, err)
		}
	}

	unreachable := New(newPool(t, "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"), 5*time.Second, schema, table)
	if err := unreachable.Ping(ctx); !IsUnavailable(err) {
		t.Errorf("unreachable database: IsUnavailable(%v) = false", err)
	}
	u, _ := url.Parse(s.Pool.Config().ConnString())
	u.Path = "/no_such_database"
	misconfigured := New(newPool(t, u.String()), 5*time.Second, schema, table)
	if err := misconfigured.Ping(ctx); err == nil || IsUnavailable(err) {
		t.Errorf("database that does not exist: IsUnavailable(%v) = true; a configuration fault is not unavailability", err)
	}

	var pid int
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "SELECT 1")
	if !IsUnavailable(err) {
		t.Errorf("terminated connection: IsUnavailable(%v) = false", err)
	}
}

func TestIsUnavailableClassifies(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("sign token: key too short"), false},
		{fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), false},
		{&pgconn.PgError{Code: "22021"}, false}, // invalid byte sequence
		{&pgconn.PgError{Code: "53100"}, false}, // disk full: a fault to look at
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "53300"}, true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "57P03"}, true},
		{fmt.Errorf("query: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
	} {
		if got := IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
