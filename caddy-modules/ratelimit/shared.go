package ratelimit

// The shared store: one budget per key for every gateway instance, kept in
// Valkey (or Redis 7; only EVALSHA/EVAL, GET, SET EX and TIME are used).
//
// Why go-redis v9 with github.com/go-redis/redis_rate/v10 rather than
// rueidis with our own script: redis_rate is a small, widely used GCRA
// (generic cell rate algorithm) Lua script, maintained beside the client,
// that makes each decision in one atomic round trip (EVALSHA, EVAL once
// after a server restart), keyed by one string with an expiry, using the
// server's clock (TIME), so gateways with skewed clocks still agree. GCRA is
// exactly our token bucket: Burst tokens refilled at Events/Window, so the
// shared and the local limiter make the same decisions and headers.
// rueidis's automatic pipelining pays off at far higher rates than a
// gateway's one call per request; writing and testing our own script for it
// would be code we own for no gain.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Store defaults.
const (
	// DefaultStoreTimeout bounds one decision's round trip to the store; a
	// slower store is treated as down for that decision.
	DefaultStoreTimeout = 50 * time.Millisecond
	// DefaultStoreBackoff is how long, after a failed call, decisions are
	// local without asking the store: a store that is down (or black-holed)
	// then costs one timeout per second instead of one per request.
	DefaultStoreBackoff = time.Second
)

// ErrStoreBackoff is returned with local decisions made while the store is
// not asked because a recent call failed.
var ErrStoreBackoff = errors.New("rate limit store failed recently; deciding locally")

// Shared decides through a Valkey/Redis store, and falls back to a local
// limiter of the same policy when the store does not answer in time.
type Shared struct {
	local  *Limiter
	store  *redis_rate.Limiter
	limit  redis_rate.Limit
	prefix string
	// emission interval: one token's worth of time.
	interval time.Duration
	// Timeout bounds each call; Backoff is the local-only time after a
	// failure. Set before the first Allow.
	Timeout time.Duration
	Backoff time.Duration
	// Unix nanoseconds until which the store is not asked.
	skipUntil atomic.Int64
}

// NewShared returns a limiter that keeps local's policy in rdb under keys
// that start with prefix (which must name the policy, so that two policies
// never share a key), falling back to local.
func NewShared(local *Limiter, rdb redis.UniversalClient, prefix string) *Shared {
	p := local.Policy()
	return &Shared{
		local:    local,
		store:    redis_rate.NewLimiter(rdb),
		limit:    redis_rate.Limit{Rate: p.Events, Period: p.Window, Burst: p.Burst},
		prefix:   prefix,
		interval: p.Window / time.Duration(p.Events),
		Timeout:  DefaultStoreTimeout,
		Backoff:  DefaultStoreBackoff,
	}
}

// Allow takes one token from key's shared bucket. When the store fails (or
// failed within Backoff), the local limiter decides and the error says why;
// the decision is always usable.
func (s *Shared) Allow(ctx context.Context, key string) (Decision, error) {
	// The local bucket is charged on every request, whoever decides: it then
	// holds this instance's own traffic, so a fallback in the middle of a
	// flood goes on from where the flood is (for one instance, what the store
	// would have said) instead of granting a fresh burst. Seen in make e2e: one
	// 50 ms timeout at a flood's start let 146 of 320 requests through where
	// the budget was 100 to 106.
	local := s.local.Allow(key)
	now := time.Now()
	if now.UnixNano() < s.skipUntil.Load() {
		return local, ErrStoreBackoff
	}
	call, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	res, err := s.store.Allow(call, s.prefix+key, s.limit)
	if err != nil {
		// A caller that went away (a client disconnecting) says nothing
		// about the store: no backoff for everyone else.
		if ctx.Err() == nil {
			s.skipUntil.Store(now.Add(s.Backoff).UnixNano())
		}
		return local, fmt.Errorf("rate limit store: %w", err)
	}
	return s.decision(res), nil
}

// decision turns a GCRA result into the local limiter's terms: the bucket
// holds Burst - ResetAfter/interval tokens after the call.
func (s *Shared) decision(res *redis_rate.Result) Decision {
	burst := float64(s.limit.Burst)
	tokens := burst - float64(res.ResetAfter)/float64(s.interval)
	d := Decision{Allowed: res.Allowed > 0, Remaining: int(math.Floor(max(tokens, 0)))}
	if tokens < burst {
		d.UntilNext = time.Duration((float64(d.Remaining+1) - tokens) * float64(s.interval))
	}
	return d
}
