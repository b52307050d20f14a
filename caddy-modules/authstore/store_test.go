package authstore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/pgtest"
)

func newPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 30
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(newPool(t, pgtest.NewDatabase(t)), 10*time.Second)
}

func addUser(t *testing.T, s *Store, email string) User {
	t.Helper()
	u := User{ID: uuid.NewString(), Email: email, PasswordHash: "$argon2id$x"}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSchemaIsAppliedOnFirstUse(t *testing.T) {
	s := newStore(t)
	addUser(t, s, "first@example.com")
	var version int
	if err := s.Pool.QueryRow(context.Background(), "SELECT version FROM "+versionTable).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != 2 {
		t.Fatalf("schema version %d, want 2", version)
	}
}

func TestCreateAndFindUser(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	u := addUser(t, s, "alice@example.com")
	got, err := s.UserByEmail(ctx, "alice@example.com")
	if err != nil || got != u {
		t.Fatalf("UserByEmail = %+v, %v; want %+v", got, err, u)
	}
	if _, err := s.UserByEmail(ctx, "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	err = s.CreateUser(ctx, User{ID: uuid.NewString(), Email: "alice@example.com", PasswordHash: "h"})
	if !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
	err = s.CreateUser(ctx, User{ID: uuid.NewString(), Email: "Alice@Example.com", PasswordHash: "h"})
	if err == nil {
		t.Fatal("the schema accepted an email that is not normalised")
	}
}

func TestReserveTokenIsExactUnderConcurrency(t *testing.T) {
	s := newStore(t)
	u := addUser(t, s, "carol@example.com")
	var granted, denied atomic.Int32
	var mu sync.Mutex
	var waits []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, wait, err := s.ReserveToken(context.Background(), u.ID, 10, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				granted.Add(1)
				return
			}
			denied.Add(1)
			mu.Lock()
			waits = append(waits, wait)
			mu.Unlock()
			if wait <= 59*time.Minute || wait > time.Hour {
				t.Errorf("retryAfter = %s, want just under an hour", wait)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 10 || denied.Load() != 10 {
		t.Fatalf("granted %d, denied %d; want 10 and 10", granted.Load(), denied.Load())
	}
	// Every refusal waits for the same token, the oldest of the window, to
	// leave it: the waits differ by no more than the refusals lie apart, and
	// they all lie within this test's run.
	if spread, took := slices.Max(waits)-slices.Min(waits), time.Since(start); spread > took {
		t.Fatalf("retryAfter values spread over %s in a run of %s (%v): not all the oldest token's", spread, took, waits)
	}
}

func TestReserveTokenWindowRolls(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	u := addUser(t, s, "dave@example.com")
	const window = 1500 * time.Millisecond
	for i := range 3 {
		if ok, _, err := s.ReserveToken(ctx, u.ID, 3, window); err != nil || !ok {
			t.Fatalf("token %d: ok=%v err=%v", i, ok, err)
		}
	}
	ok, wait, err := s.ReserveToken(ctx, u.ID, 3, window)
	if err != nil || ok || wait <= 0 || wait > window {
		t.Fatalf("4th token: ok=%v wait=%s err=%v", ok, wait, err)
	}
	time.Sleep(wait + 50*time.Millisecond)
	if ok, _, err := s.ReserveToken(ctx, u.ID, 3, window); err != nil || !ok {
		t.Fatalf("after the window: ok=%v err=%v", ok, err)
	}
	if _, _, err := s.ReserveToken(ctx, uuid.NewString(), 3, window); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestFailureThrottle(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const window = 2 * time.Second
	for i := range 3 {
		n, wait, err := s.FailureThrottle(ctx, "eve@example.com", 3, window)
		if err != nil || n != i || wait != 0 {
			t.Fatalf("before failure %d: n=%d wait=%s err=%v", i, n, wait, err)
		}
		if err := s.RecordFailure(ctx, "eve@example.com", window); err != nil {
			t.Fatal(err)
		}
	}
	n, wait, err := s.FailureThrottle(ctx, "eve@example.com", 3, window)
	if err != nil || n != 3 || wait <= 0 || wait > window {
		t.Fatalf("after 3 failures: n=%d wait=%s err=%v", n, wait, err)
	}
	// Another email is not affected.
	if n, _, _ := s.FailureThrottle(ctx, "frank@example.com", 3, window); n != 0 {
		t.Fatalf("other email has %d failures", n)
	}
	if err := s.ClearFailures(ctx, "eve@example.com"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.FailureThrottle(ctx, "eve@example.com", 3, window); n != 0 {
		t.Fatalf("after clear: %d failures", n)
	}
	// A failure after the window starts a new window at 1. The wait is for
	// auth-db's clock to leave the short window, however long that takes on
	// a busy machine; the count is then read with a window long enough to
	// see the new one (the old window's 2 would show as 2).
	const short = 200 * time.Millisecond
	if err := s.RecordFailure(ctx, "eve@example.com", short); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 0, "the short failure window ends", func() bool {
		n, _, err := s.FailureThrottle(ctx, "eve@example.com", 3, short)
		return err == nil && n == 0
	})
	if err := s.RecordFailure(ctx, "eve@example.com", short); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.FailureThrottle(ctx, "eve@example.com", 3, time.Hour); err != nil || n != 1 {
		t.Fatalf("new window: %d failures (%v), want 1", n, err)
	}
}

func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	s := New(newPool(t, "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"), time.Second)
	_, err := s.UserByEmail(context.Background(), "x@example.com")
	if err == nil || !IsUnavailable(err) {
		t.Fatalf("err = %v, want an unavailability error", err)
	}
}
