// Package revocation keeps a gateway's set of users whose access tokens are
// refused (deleted accounts), in step with auth-db's revoked_users table.
//
// Why polling auth-db and not the event bus: auth-db is where the deletion
// commits, so a gateway that can read it is never behind the truth, and a
// NATS outage cannot delay revocation. The query is an index range scan over
// the last few seconds' deletions; at the default 250 ms interval a deleted
// account's tokens are refused by every gateway within about 250 ms plus one
// query.
package revocation

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/caddysocial/platform/caddy-modules/authstore"
)

// Source is auth-db (authstore.Store).
type Source interface {
	RevokedSince(ctx context.Context, since time.Time) ([]authstore.Revoked, error)
	PruneRevoked(ctx context.Context, age time.Duration) error
}

const (
	pruneInterval = 10 * time.Minute
	// overlap re-reads the revocations of the last seconds on every poll: a
	// deletion transaction takes its revoked_at at insert and may commit up
	// to its statement timeout (5 s) later, after a poll that already saw a
	// newer one.
	overlap = 10 * time.Second
)

// List is the set of revoked user ids, refreshed by Run.
type List struct {
	src      Source
	interval time.Duration
	keep     time.Duration // prune revocations older than this
	log      *slog.Logger

	mu      sync.RWMutex
	revoked map[string]time.Time // user id -> revoked_at
	newest  time.Time            // newest revoked_at seen
}

// New returns a List over src polled every interval; revocations older than
// keep (longer than any token lives) are pruned.
func New(src Source, interval, keep time.Duration, log *slog.Logger) *List {
	return &List{src: src, interval: interval, keep: keep, log: log, revoked: map[string]time.Time{}}
}

// Revoked reports whether userID's tokens are refused.
func (l *List) Revoked(userID string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.revoked[userID]
	return ok
}

// Run polls until ctx ends. While auth-db is unreachable the set stays as it
// was (no deletion can commit then either).
func (l *List) Run(ctx context.Context) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	lastPrune := time.Now()
	failing := false
	for {
		err := l.Poll(ctx)
		if err != nil && !failing && ctx.Err() == nil {
			l.log.Warn("token revocation list not refreshed", "error", err.Error())
		}
		failing = err != nil
		if err == nil && time.Since(lastPrune) > pruneInterval {
			if err := l.src.PruneRevoked(ctx, l.keep); err == nil {
				l.prune()
				lastPrune = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads the revocations since the last poll (with the overlap).
func (l *List) Poll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l.mu.RLock()
	since := l.newest.Add(-overlap)
	l.mu.RUnlock()
	batch, err := l.src.RevokedSince(ctx, since)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range batch {
		l.revoked[r.UserID] = r.At
		if r.At.After(l.newest) {
			l.newest = r.At
		}
	}
	return nil
}

// prune forgets revocations whose tokens have all expired.
func (l *List) prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, at := range l.revoked {
		if l.newest.Sub(at) > l.keep {
			delete(l.revoked, id)
		}
	}
}
