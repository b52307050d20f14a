// Package ratelimit is the gateway's per-client request limiter: a token
// bucket per key (client address, user id, ...), from golang.org/x/time/rate,
// with the set of tracked keys bounded by an LRU (hashicorp/golang-lru).
//
// A policy "Events per Window, Burst" is a bucket of Burst tokens (default
// Events) refilled at Events/Window: a client may send Burst requests at
// once and Events per Window sustained. Each key's bucket is taken under its
// own mutex, so N concurrent requests against k tokens let exactly k through.
//
// Memory is bounded by MaxKeys: when a new key would exceed it, the least
// recently seen key is forgotten (as if its bucket were full again). With
// fewer active clients than MaxKeys nothing is ever forgotten early; a bucket
// that is full again costs nothing to forget, so only clients idle for less
// than Burst/rate can gain from an eviction. The cost per tracked key is
// measured by TestMemoryPerKey: about 240 bytes with a 36-byte key (a user
// id), so DefaultMaxKeys costs about 16 MB.
package ratelimit

import (
	"fmt"
	"math"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds the keys tracked by one limiter when MaxKeys is 0.
const DefaultMaxKeys = 65536

// Policy is Events per Window with bursts of up to Burst.
type Policy struct {
	Events int
	Window time.Duration
	// Bucket size; 0 means Events.
	Burst int
	// Keys tracked at most; 0 means DefaultMaxKeys.
	MaxKeys int
}

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.Events <= 0:
		return fmt.Errorf("events must be positive, got %d", p.Events)
	case p.Window < time.Second:
		// The RateLimit-Policy header states the window in whole seconds.
		return fmt.Errorf("window must be at least 1s, got %s", p.Window)
	case p.Window%time.Second != 0:
		return fmt.Errorf("window must be a whole number of seconds, got %s", p.Window)
	case p.Burst < 0:
		return fmt.Errorf("burst must not be negative, got %d", p.Burst)
	case p.MaxKeys < 0:
		return fmt.Errorf("max keys must not be negative, got %d", p.MaxKeys)
	}
	return nil
}

// Decision is the outcome of one request.
type Decision struct {
	Allowed bool
	// Whole requests the key may still send at once.
	Remaining int
	// Until Remaining grows by one: within this time the key can send no
	// more than Remaining requests (the draft's "effective window"). When
	// denied, this is also when to retry. Zero when the bucket is full.
	UntilNext time.Duration
}

// Limiter holds the buckets of one policy.
type Limiter struct {
	policy  Policy
	limit   rate.Limit
	buckets *lru.Cache[string, *rate.Limiter]
	now     func() time.Time
}

// New returns a limiter for p.
func New(p Policy) (*Limiter, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Burst == 0 {
		p.Burst = p.Events
	}
	if p.MaxKeys == 0 {
		p.MaxKeys = DefaultMaxKeys
	}
	buckets, err := lru.New[string, *rate.Limiter](p.MaxKeys)
	if err != nil {
		return nil, fmt.Errorf("rate limit buckets: %w", err)
	}
	return &Limiter{
		policy:  p,
		limit:   rate.Limit(float64(p.Events) / p.Window.Seconds()),
		buckets: buckets,
		now:     time.Now,
	}, nil
}

// Policy is the limiter's policy with defaults applied.
func (l *Limiter) Policy() Policy { return l.policy }

// Len is the number of keys tracked.
func (l *Limiter) Len() int { return l.buckets.Len() }

// Allow takes one token from key's bucket if it has one.
func (l *Limiter) Allow(key string) Decision {
	now := l.now()
	bucket, ok := l.buckets.Get(key)
	if !ok {
		fresh := rate.NewLimiter(l.limit, l.policy.Burst)
		// Two first requests of a key race here; both must use one bucket.
		if prev, found, _ := l.buckets.PeekOrAdd(key, fresh); found {
			bucket = prev
		} else {
			bucket = fresh
		}
	}
	allowed := bucket.AllowN(now, 1)
	// Read after the decision: another request of the same key may have
	// taken a token in between, which only makes these hints conservative.
	tokens := bucket.TokensAt(now)
	d := Decision{Allowed: allowed, Remaining: int(math.Floor(max(tokens, 0)))}
	if tokens < float64(l.policy.Burst) {
		missing := float64(d.Remaining+1) - tokens
		d.UntilNext = time.Duration(missing / float64(l.limit) * float64(time.Second))
	}
	return d
}
