package revocation_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/caddy-modules/authstore"
	"github.com/caddysocial/platform/caddy-modules/revocation"
	"github.com/caddysocial/platform/svckit/pgtest"
)

func TestPollSeesRevocationsIncludingLateCommits(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := authstore.New(pool, 0)
	ctx := context.Background()
	if err := store.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	list := revocation.New(store, time.Second, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))

	revoke := func(id string, age time.Duration) {
		pgtest.Exec(t, dsn, "INSERT INTO revoked_users (user_id, revoked_at) VALUES ('"+id+"', clock_timestamp() - interval '"+
			age.String()+"')")
	}
	a, late, old, never := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	revoke(a, 0)
	if err := list.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !list.Revoked(a) || list.Revoked(never) {
		t.Fatalf("revoked(a)=%v revoked(never)=%v", list.Revoked(a), list.Revoked(never))
	}
	// A deletion that took its revoked_at before a's but committed after the
	// poll that saw a: the next poll still finds it.
	revoke(late, 3*time.Second)
	if err := list.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !list.Revoked(late) {
		t.Fatal("a late-committed revocation was missed")
	}

	// A new list (a gateway starting) loads everything not pruned.
	revoke(old, 2*time.Hour)
	fresh := revocation.New(store, time.Second, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := fresh.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !fresh.Revoked(a) || !fresh.Revoked(late) || !fresh.Revoked(old) {
		t.Fatal("a starting gateway misses revocations")
	}
	if err := store.PruneRevoked(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	again := revocation.New(store, time.Second, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := again.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if again.Revoked(old) || !again.Revoked(a) {
		t.Fatal("pruning removed the wrong revocations")
	}
}
