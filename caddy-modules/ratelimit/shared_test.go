package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddysocial/platform/caddy-modules/internal/redistest"
)

func newShared(t *testing.T, addr string, p Policy) *Shared {
	t.Helper()
	local, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	s := NewShared(local, rdb, "test:"+t.Name()+":")
	// A loaded CI machine must not turn a slow answer into a fallback here.
	s.Timeout = 10 * time.Second
	return s
}

// Two gateways (two limiters, two connections) share one budget: of many
// concurrent requests of one key, exactly Burst pass in total.
func TestSharedOneBudgetForTwoInstances(t *testing.T) {
	srv := redistest.Start(t)
	p := Policy{Events: 10, Window: time.Hour, Burst: 25}
	a, b := newShared(t, srv.Addr(), p), newShared(t, srv.Addr(), p)
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 100 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			<-start
			d, err := l.Allow(context.Background(), "client")
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				ok.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 25 {
		t.Errorf("%d of 100 requests allowed across two instances, want the burst 25", ok.Load())
	}
	// Another key has its own budget.
	if d, err := a.Allow(context.Background(), "other"); err != nil || !d.Allowed || d.Remaining != 24 {
		t.Errorf("other key: %+v, %v", d, err)
	}
}

// The shared decisions say what the local limiter says: remaining requests,
// and when the next token comes (at most one interval away).
func TestSharedDecisionsMatchLocal(t *testing.T) {
	srv := redistest.Start(t)
	p := Policy{Events: 60, Window: time.Hour, Burst: 3}
	s := newShared(t, srv.Addr(), p)
	l, _ := newLimiter(t, p)
	interval := time.Minute
	for i := range 5 {
		got, err := s.Allow(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		want := l.Allow("k")
		if got.Allowed != want.Allowed || got.Remaining != want.Remaining {
			t.Errorf("request %d: shared %+v, local %+v", i+1, got, want)
		}
		if got.UntilNext <= 0 || got.UntilNext > interval {
			t.Errorf("request %d: until next %s, want in (0, %s]", i+1, got.UntilNext, interval)
		}
	}
}

// A stopped store: every request is still decided (locally) with an error
// that says so; after the backoff the store is asked again and, once back,
// decides again.
func TestSharedFallsBackAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	s := newShared(t, srv.Addr(), Policy{Events: 5, Window: time.Hour})
	if _, err := s.Allow(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	s.Backoff = time.Hour
	d, err := s.Allow(context.Background(), "k")
	if err == nil || errors.Is(err, ErrStoreBackoff) {
		t.Fatalf("store down: error %v, want the call's error", err)
	}
	// Fail open to the local limit, whose bucket counted this instance's
	// request before the outage too.
	if !d.Allowed || d.Remaining != 3 {
		t.Errorf("local decision %+v, want allowed with 3 remaining", d)
	}
	if _, err := s.Allow(context.Background(), "k"); !errors.Is(err, ErrStoreBackoff) {
		t.Errorf("within the backoff: error %v, want ErrStoreBackoff", err)
	}
	srv.Start()
	s.Backoff = 0
	s.skipUntil.Store(0)
	d, err = s.Allow(context.Background(), "k")
	if err != nil {
		t.Fatalf("store back: %v", err)
	}
	// The restarted server is empty: a fresh shared bucket.
	if !d.Allowed || d.Remaining != 4 {
		t.Errorf("store back: %+v, want allowed with 4 remaining", d)
	}
}

// A store that fails in the middle of a flood hands over to a local bucket
// that the flood has drained too: the fallback does not grant a fresh burst.
func TestSharedFallbackGoesOnFromTheFlood(t *testing.T) {
	srv := redistest.Start(t)
	s := newShared(t, srv.Addr(), Policy{Events: 10, Window: time.Hour, Burst: 10})
	for i := range 11 {
		d, err := s.Allow(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != (i < 10) {
			t.Fatalf("request %d through the store: %+v", i+1, d)
		}
	}
	srv.Stop()
	for i := range 5 {
		d, err := s.Allow(context.Background(), "k")
		if err == nil {
			t.Fatal("store down: no error")
		}
		if d.Allowed {
			t.Fatalf("fallback request %d allowed (%+v): the local bucket was fresh, not drained by the flood", i+1, d)
		}
	}
}

// A caller that is gone (its context canceled) gets a local decision, but
// does not make the others skip the store.
func TestSharedCanceledCallerNoBackoff(t *testing.T) {
	srv := redistest.Start(t)
	s := newShared(t, srv.Addr(), Policy{Events: 5, Window: time.Hour})
	s.Backoff = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Allow(ctx, "k"); err == nil {
		t.Fatal("a canceled call reached the store")
	}
	if _, err := s.Allow(context.Background(), "k"); err != nil {
		t.Errorf("after a canceled caller: %v, want the store to decide", err)
	}
}
