package feed

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/prometheus/client_golang/prometheus"
)

// UsernameCache keeps authors' usernames in a bounded in-memory cache
// (feed-service has no database) in front of Next, the lookup through
// user-lb; profiles.updated invalidates entries (docs/EVENTS.md).
//
// The cache is used only while Fresh says invalidations arrive (connected to
// the event bus); otherwise every lookup goes to Next, as without the cache,
// so a missed invalidation can never show a stale name. Entries also expire
// after a TTL, a backstop for an invalidation lost some other way. Users
// without a profile are not cached: a profile created later is found at once.
type UsernameCache struct {
	Next Usernames
	// Fresh reports whether invalidations are arriving; nil means never
	// (no event bus: no caching).
	Fresh func() bool
	// Lookups counts the usernames asked for, by result: hit (cached),
	// miss (asked of Next), bypass (cache not in use). Nil: not counted.
	Lookups *prometheus.CounterVec

	cache *expirable.LRU[string, string]
	// gen counts invalidations: a lookup that raced one does not store its
	// possibly stale answers.
	gen atomic.Uint64
	mu  sync.Mutex
}

// NewUsernameCache returns a cache of at most size usernames, each kept at
// most ttl, in front of next.
func NewUsernameCache(next Usernames, size int, ttl time.Duration, fresh func() bool) *UsernameCache {
	return &UsernameCache{Next: next, Fresh: fresh, cache: expirable.NewLRU[string, string](size, nil, ttl)}
}

// Usernames implements Usernames: cached names first, the rest from Next in
// one call (a batch call when user-lb has it).
func (u *UsernameCache) Usernames(ctx context.Context, caller string, ids []string) map[string]string {
	if u.Fresh == nil || !u.Fresh() {
		u.count("bypass", len(ids))
		return u.Next.Usernames(ctx, caller, ids)
	}
	names := make(map[string]string, len(ids))
	var missing []string
	for _, id := range ids {
		if name, ok := u.cache.Get(id); ok {
			names[id] = name
		} else {
			missing = append(missing, id)
		}
	}
	u.count("hit", len(ids)-len(missing))
	u.count("miss", len(missing))
	if len(missing) == 0 {
		return names
	}
	gen := u.gen.Load()
	found := u.Next.Usernames(ctx, caller, missing)
	u.mu.Lock()
	defer u.mu.Unlock()
	store := u.gen.Load() == gen
	for id, name := range found {
		names[id] = name
		if store && name != "" {
			u.cache.Add(id, name)
		}
	}
	return names
}

func (u *UsernameCache) count(result string, n int) {
	if u.Lookups != nil && n > 0 {
		u.Lookups.WithLabelValues(result).Add(float64(n))
	}
}

// NewUsernameCacheLookups registers feed_username_cache_lookups_total into
// reg, every result at 0 so that a hit ratio has its series from the start.
func NewUsernameCacheLookups(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feed_username_cache_lookups_total",
		Help: "Usernames looked up through the cache, by result: hit (cached), miss (asked of user-lb), bypass (cache not in use: no event bus).",
	}, []string{"result"})
	for _, r := range []string{"hit", "miss", "bypass"} {
		c.WithLabelValues(r)
	}
	reg.MustRegister(c)
	return c
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

var errLookupFailed = errors.New("username lookup failed")

// username is one author's username through names: errNoProfile when the
// author has no profile, errLookupFailed when user-lb could not say.
func username(ctx context.Context, names Usernames, caller, author string) (string, error) {
	name, ok := names.Usernames(ctx, caller, []string{author})[author]
	switch {
	case !ok:
		return "", errLookupFailed
	case name == "":
		return "", errNoProfile
	}
	return name, nil
}
