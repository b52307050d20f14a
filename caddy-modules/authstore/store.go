// Package authstore keeps the gateway's users, the access tokens issued in the
// rolling window, and failed login attempts in PostgreSQL (auth-db).
//
// Every limit is decided inside the database, so it is exact under concurrent
// logins, survives gateway restarts and holds across gateway replicas.
package authstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/pgstore"
)

var (
	ErrEmailTaken = errors.New("email already registered")
	ErrNotFound   = errors.New("user not found")
)

// User is a registered account.
type User struct {
	ID           string
	Email        string
	PasswordHash string
}

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable records the applied schema version (tern's format).
const versionTable = "public.auth_schema_version"

// Store is the auth-db data layer. pgstore.Store applies the schema
// migrations on first use (and again after a failure), so the gateway can
// start before auth-db.
type Store struct {
	*pgstore.Store
	relay *events.Relay // nil without NATS
}

// UseRelay is told auth-db's outbox relay, to kick it after a commit that
// wrote an event, as the services' stores do. Call it before the store is
// used; without it (or with nil) events wait for the relay's next poll.
func (s *Store) UseRelay(r *events.Relay) { s.relay = r }

// New returns a Store over pool; queryTimeout bounds every statement
// (default 5s).
func New(pool *pgxpool.Pool, queryTimeout time.Duration) *Store {
	st := pgstore.New(pool, queryTimeout, pgstore.Sub(migrations, "migrations"), versionTable)
	return &Store{Store: st.Also(events.Migrations, events.VersionTable)}
}

// CreateUser inserts a user; ErrEmailTaken if the email exists.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	_, err = s.Pool.Exec(ctx,
		`INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)`,
		u.ID, u.Email, u.PasswordHash)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// UserByEmail finds a user by normalised email; ErrNotFound if none.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.userWhere(ctx, "email", email)
}

// UserByID finds a user by id; ErrNotFound if none.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	return s.userWhere(ctx, "id", id)
}

// userWhere finds the user whose column (a constant of this package) is
// value.
func (s *Store) userWhere(ctx context.Context, column, value string) (User, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return User{}, err
	}
	defer cancel()
	var u User
	err = s.Pool.QueryRow(ctx,
		`SELECT id::text, email, password_hash FROM users WHERE `+column+` = $1`, value,
	).Scan(&u.ID, &u.Email, &u.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("select user: %w", err)
	}
	return u, nil
}

// ReserveToken records one token for userID if fewer than limit were issued
// in the last window. If the limit is reached it records nothing and returns
// how long until the oldest token of the window leaves it.
//
// The user's row is locked for the transaction, so concurrent logins of one
// user (on any gateway replica) are serialised and the count is exact.
// Times come from the database clock, which all replicas share.
func (s *Store) ReserveToken(ctx context.Context, userID string, limit int, window time.Duration) (granted bool, retryAfter time.Duration, err error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return false, 0, err
	}
	defer cancel()
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("lock user: %w", err)
		}
		if _, err := tx.Exec(ctx,
			`DELETE FROM issued_tokens WHERE user_id = $1 AND issued_at <= clock_timestamp() - make_interval(secs => $2)`,
			userID, window.Seconds()); err != nil {
			return fmt.Errorf("expire tokens: %w", err)
		}
		var count int
		var waitSeconds float64
		if err := tx.QueryRow(ctx,
			`SELECT count(*), COALESCE(EXTRACT(EPOCH FROM min(issued_at) + make_interval(secs => $2) - clock_timestamp()), 0)::float8
			   FROM issued_tokens WHERE user_id = $1`, userID, window.Seconds(),
		).Scan(&count, &waitSeconds); err != nil {
			return fmt.Errorf("count tokens: %w", err)
		}
		if count >= limit {
			retryAfter = seconds(waitSeconds)
			return nil
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO issued_tokens (user_id, issued_at) VALUES ($1, clock_timestamp())`, userID); err != nil {
			return fmt.Errorf("record token: %w", err)
		}
		granted = true
		return nil
	})
	return granted, retryAfter, err
}

// FailureThrottle reports whether email has had at least max failed logins in
// its current window, and if so how long until the window ends.
func (s *Store) FailureThrottle(ctx context.Context, email string, max int, window time.Duration) (failures int, retryAfter time.Duration, err error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer cancel()
	var waitSeconds float64
	err = s.Pool.QueryRow(ctx,
		`SELECT failures, EXTRACT(EPOCH FROM window_start + make_interval(secs => $2) - clock_timestamp())::float8
		   FROM login_failures
		  WHERE email = $1 AND window_start > clock_timestamp() - make_interval(secs => $2)`, email, window.Seconds(),
	).Scan(&failures, &waitSeconds)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("select login failures: %w", err)
	}
	if failures < max {
		return failures, 0, nil
	}
	return failures, seconds(waitSeconds), nil
}

// RecordFailure counts one failed login for email; a window starts at the
// first failure after the previous window ended. Expired rows of every email
// are purged so the table stays as small as the set of recent failures.
func (s *Store) RecordFailure(ctx context.Context, email string, window time.Duration) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	batch := &pgx.Batch{}
	batch.Queue(`
		INSERT INTO login_failures AS f (email, failures, window_start)
		VALUES ($1, 1, clock_timestamp())
		ON CONFLICT (email) DO UPDATE SET
		  failures     = CASE WHEN f.window_start <= clock_timestamp() - make_interval(secs => $2) THEN 1 ELSE f.failures + 1 END,
		  window_start = CASE WHEN f.window_start <= clock_timestamp() - make_interval(secs => $2) THEN clock_timestamp() ELSE f.window_start END`,
		email, window.Seconds())
	batch.Queue(`DELETE FROM login_failures WHERE window_start <= clock_timestamp() - make_interval(secs => $1) AND email <> $2`, window.Seconds(), email)
	if err := s.Pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// ClearFailures forgets the failed logins of email (after a successful one).
func (s *Store) ClearFailures(ctx context.Context, email string) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := s.Pool.Exec(ctx, `DELETE FROM login_failures WHERE email = $1`, email); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// IsUnavailable reports whether err is a connection-level failure of
// auth-db (503, worth retrying); anything else is a fault (500).
func IsUnavailable(err error) bool { return pgstore.IsUnavailable(err) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
