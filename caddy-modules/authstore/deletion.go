package authstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddysocial/platform/svckit/events"
)

// DeleteAccount deletes the user (its email is free at once), revokes its
// tokens and writes accounts.deleted to the outbox, all in one transaction,
// then kicks the relay so the event leaves now rather than at its next poll.
// ErrNotFound if the user is already gone.
func (s *Store) DeleteAccount(ctx context.Context, userID string) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	e, err := events.New(events.AccountDeleted, 1, events.AccountDeletedData{UserUUID: userID})
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if _, err := tx.Exec(ctx, `INSERT INTO revoked_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, userID); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return events.Write(ctx, tx, userID, e)
	})
	if err == nil {
		s.relay.Kick() // nil-safe
	}
	return err
}

// Revoked is a user whose tokens are refused, since At (auth-db's clock).
type Revoked struct {
	UserID string
	At     time.Time
}

// RevokedSince returns the revocations at or after since, oldest first.
func (s *Store) RevokedSince(ctx context.Context, since time.Time) ([]Revoked, error) {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	rows, err := s.Pool.Query(ctx,
		`SELECT user_id::text, revoked_at FROM revoked_users WHERE revoked_at >= $1 ORDER BY revoked_at`, since)
	if err != nil {
		return nil, fmt.Errorf("select revoked: %w", err)
	}
	revoked, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Revoked])
	if err != nil {
		return nil, fmt.Errorf("select revoked: %w", err)
	}
	return revoked, nil
}

// PruneRevoked forgets revocations older than age (longer than any token
// lives).
func (s *Store) PruneRevoked(ctx context.Context, age time.Duration) error {
	ctx, cancel, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := s.Pool.Exec(ctx, `DELETE FROM revoked_users WHERE revoked_at < clock_timestamp() - make_interval(secs => $1)`,
		age.Seconds()); err != nil {
		return fmt.Errorf("prune revoked: %w", err)
	}
	return nil
}
