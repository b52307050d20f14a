package feed

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
)

// UsernameCache looks up authors' usernames through user-lb, keeping them in a
// bounded in-memory cache (feed-service has no database) that profiles.updated
// invalidates (docs/EVENTS.md).
//
// The cache is used only while Fresh says invalidations arrive (connected to
// the event bus); otherwise every lookup asks user-lb, as without the cache,
// so a missed invalidation can never show a stale name. Entries also expire
// after a TTL, a backstop for an invalidation lost some other way.
type UsernameCache struct {
	Users *upstream.Client
	// Fresh reports whether invalidations are arriving; nil means never
	// (no event bus: no caching).
	Fresh func() bool

	cache *expirable.LRU[string, string]
	// gen counts invalidations: a lookup that raced one does not store its
	// possibly stale answer.
	gen atomic.Uint64
	mu  sync.Mutex
}

// NewUsernameCache returns a cache of at most size usernames, each kept at most
// ttl.
func NewUsernameCache(users *upstream.Client, size int, ttl time.Duration, fresh func() bool) *UsernameCache {
	return &UsernameCache{Users: users, Fresh: fresh, cache: expirable.NewLRU[string, string](size, nil, ttl)}
}

// Lookup returns author's username; errNoProfile when author has none.
func (u *UsernameCache) Lookup(ctx context.Context, caller, author string) (string, error) {
	useCache := u.cache != nil && u.Fresh != nil && u.Fresh()
	if useCache {
		if name, ok := u.cache.Get(author); ok {
			return name, nil
		}
	}
	gen := u.gen.Load()
	var profile struct {
		Username string `json:"username"`
	}
	if err := u.Users.GetJSON(ctx, "/profile/"+author, "/profile/{userId}", caller, &profile, errNoProfile); err != nil {
		return "", err
	}
	if useCache {
		u.mu.Lock()
		if u.gen.Load() == gen {
			u.cache.Add(author, profile.Username)
		}
		u.mu.Unlock()
	}
	return profile.Username, nil
}

// Invalidate drops id's username (its profile changed or was deleted).
func (u *UsernameCache) Invalidate(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gen.Add(1)
	u.cache.Remove(id)
}

// Purge drops every username (invalidations may have been missed).
func (u *UsernameCache) Purge() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gen.Add(1)
	u.cache.Purge()
}

// username is the author's username for a feed: through the cache when the
// builder has one.
func (b *Builder) username(ctx context.Context, caller, author string) (string, error) {
	if b.Names != nil {
		return b.Names.Lookup(ctx, caller, author)
	}
	return (&UsernameCache{Users: b.Users}).Lookup(ctx, caller, author)
}
