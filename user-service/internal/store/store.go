// Package store is user-service's data layer on PostgreSQL (user-db).
package store

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
	ErrNotFound       = errors.New("not found")
	ErrNoProfile      = errors.New("caller has no profile")
	ErrFriendNotFound = errors.New("friend not found")
)

// Profile is a user's public profile.
type Profile struct {
	UUID     string `json:"uuid"`
	Username string `json:"username"`
	Bio      string `json:"bio"`
}

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the data layer; pgstore.Store bounds every statement by a timeout
// and applies the schema on first use, so the service starts before its
// database.
type Store struct {
	*pgstore.Store
	relay *events.Relay // nil without the event bus
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool, timeout time.Duration) *Store {
	st := pgstore.New(pool, timeout, pgstore.Sub(migrations, "migrations"), "public.user_service_schema_version")
	return &Store{Store: st.Also(events.Migrations, events.VersionTable)}
}

// UseRelay is told the outbox relay, to kick it after a commit.
func (s *Store) UseRelay(r *events.Relay) { s.relay = r }

// UpsertProfile creates or replaces the caller's profile. A new or changed
// username is announced as profiles.updated (feed-service caches usernames)
// in the same transaction.
func (s *Store) UpsertProfile(ctx context.Context, p Profile) (Profile, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return Profile{}, err
	}
	defer cancel()
	var announced bool
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// The row lock orders concurrent updates of one profile, and so
		// their events in the outbox.
		var old *string
		err := tx.QueryRow(ctx, `SELECT username FROM profiles WHERE uuid = $1 FOR UPDATE`, p.UUID).Scan(&old)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("lock profile: %w", err)
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO profiles (uuid, username, bio) VALUES ($1, $2, $3)
			ON CONFLICT (uuid) DO UPDATE SET username = EXCLUDED.username, bio = EXCLUDED.bio, updated_at = now()
			RETURNING uuid::text, username, bio`, p.UUID, p.Username, p.Bio,
		).Scan(&p.UUID, &p.Username, &p.Bio)
		if err != nil {
			return fmt.Errorf("upsert profile: %w", err)
		}
		if old != nil && *old == p.Username {
			return nil
		}
		e, err := events.New(events.ProfileUpdated, 1, events.ProfileUpdatedData{UUID: p.UUID, Username: p.Username})
		if err != nil {
			return err
		}
		announced = true
		return events.Write(ctx, tx, p.UUID, e)
	})
	if err != nil {
		return Profile{}, err
	}
	if announced {
		s.relay.Kick()
	}
	return p, nil
}

// AccountDeletion consumes accounts.deleted: it removes the profile and,
// by the foreign keys' cascade, every friendship in both directions.
func (s *Store) AccountDeletion() events.Consumer {
	return events.Consumer{
		Name:    "user-service-accounts-deleted",
		Subject: events.AccountDeleted,
		Handle: func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
			user, err := events.DeletedUser(e)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM profiles WHERE uuid = $1`, user); err != nil {
				return fmt.Errorf("delete profile: %w", err)
			}
			return nil
		},
	}
}

// Profile returns the profile of id, or ErrNotFound.
func (s *Store) Profile(ctx context.Context, id string) (Profile, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return Profile{}, err
	}
	defer cancel()
	var p Profile
	err = s.Pool.QueryRow(ctx, `SELECT uuid::text, username, bio FROM profiles WHERE uuid = $1`, id).
		Scan(&p.UUID, &p.Username, &p.Bio)
	if errors.Is(err, pgx.ErrNoRows) {
		return Profile{}, ErrNotFound
	}
	if err != nil {
		return Profile{}, fmt.Errorf("select profile: %w", err)
	}
	return p, nil
}

// ProfilesQuery is Profiles' statement: primary-key lookups.
const ProfilesQuery = `SELECT uuid::text, username, bio FROM profiles WHERE uuid = ANY($1::uuid[]) ORDER BY uuid`

// Profiles returns the profiles of those ids that have one, in one query,
// ordered by id.
func (s *Store) Profiles(ctx context.Context, ids []string) ([]Profile, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.Pool.Query(ctx, ProfilesQuery, ids)
	if err != nil {
		return nil, fmt.Errorf("select profiles: %w", err)
	}
	profiles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Profile, error) {
		var p Profile
		return p, row.Scan(&p.UUID, &p.Username, &p.Bio)
	})
	if err != nil {
		return nil, fmt.Errorf("select profiles: %w", err)
	}
	if profiles == nil {
		profiles = []Profile{}
	}
	return profiles, nil
}

// Friends lists the UUIDs user has added, oldest friendship first.
func (s *Store) Friends(ctx context.Context, user string) ([]string, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.Pool.Query(ctx, `
		SELECT friend_uuid::text FROM friendships WHERE user_uuid = $1
		ORDER BY created_at, friend_uuid`, user)
	if err != nil {
		return nil, fmt.Errorf("select friends: %w", err)
	}
	friends, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("select friends: %w", err)
	}
	if friends == nil {
		friends = []string{}
	}
	return friends, nil
}

// AddFriend records that user lists friend; adding twice is a no-op.
// Errors: ErrNoProfile (user has no profile), ErrFriendNotFound.
func (s *Store) AddFriend(ctx context.Context, user, friend string) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	// One statement: the existence checks and the insert see one snapshot,
	// and ON CONFLICT makes concurrent adds of the same pair safe.
	var userExists, friendExists bool
	err = s.Pool.QueryRow(ctx, `
		WITH u AS (SELECT EXISTS (SELECT 1 FROM profiles WHERE uuid = $1) AS ok),
		     f AS (SELECT EXISTS (SELECT 1 FROM profiles WHERE uuid = $2) AS ok),
		     ins AS (
		         INSERT INTO friendships (user_uuid, friend_uuid)
		         SELECT $1, $2 FROM u, f WHERE u.ok AND f.ok
		         ON CONFLICT DO NOTHING)
		SELECT u.ok, f.ok FROM u, f`, user, friend).Scan(&userExists, &friendExists)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23503" {
		// A profile vanished between the check and the insert.
		return ErrFriendNotFound
	}
	if err != nil {
		return fmt.Errorf("add friend: %w", err)
	}
	switch {
	case !userExists:
		return ErrNoProfile
	case !friendExists:
		return ErrFriendNotFound
	}
	return nil
}

// RemoveFriend deletes the friendship if it exists.
func (s *Store) RemoveFriend(ctx context.Context, user, friend string) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := s.Pool.Exec(ctx, `DELETE FROM friendships WHERE user_uuid = $1 AND friend_uuid = $2`, user, friend); err != nil {
		return fmt.Errorf("remove friend: %w", err)
	}
	return nil
}
