package ratelimit

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock for the limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newLimiter(t *testing.T, p Policy) (*Limiter, *clock) {
	t.Helper()
	l, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l.now = c.now
	return l, c
}

func allowed(l *Limiter, key string, n int) int {
	got := 0
	for range n {
		if l.Allow(key).Allowed {
			got++
		}
	}
	return got
}

func TestExactUnderConcurrency(t *testing.T) {
	for _, k := range []int{1, 7, 50} {
		l, err := New(Policy{Events: k, Window: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		var ok atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				if l.Allow("same-client").Allowed {
					ok.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != int64(k) {
			t.Errorf("limit %d: %d of %d parallel requests allowed", k, ok.Load(), n)
		}
	}
}

func TestWindowRefill(t *testing.T) {
	l, c := newLimiter(t, Policy{Events: 10, Window: 10 * time.Second})
	if got := allowed(l, "a", 15); got != 10 {
		t.Fatalf("first burst: %d allowed, want 10", got)
	}
	d := l.Allow("a")
	if d.Allowed || d.Remaining != 0 || d.UntilNext != time.Second {
		t.Fatalf("over the limit: %+v, want denied, 0 remaining, next in 1s", d)
	}
	c.advance(999 * time.Millisecond)
	if l.Allow("a").Allowed {
		t.Fatal("allowed before a token was back")
	}
	c.advance(time.Millisecond)
	if !l.Allow("a").Allowed {
		t.Fatal("denied after a token was back")
	}
	// A whole window later the bucket is full again, never fuller.
	c.advance(time.Hour)
	if got := allowed(l, "a", 15); got != 10 {
		t.Fatalf("after a long pause: %d allowed, want 10", got)
	}
	// Sustained at exactly the rate: never denied.
	for range 100 {
		c.advance(time.Second)
		if !l.Allow("a").Allowed {
			t.Fatal("denied at the sustained rate")
		}
	}
}

func TestBurstSmallerThanEvents(t *testing.T) {
	l, c := newLimiter(t, Policy{Events: 60, Window: time.Minute, Burst: 5})
	if got := allowed(l, "a", 10); got != 5 {
		t.Fatalf("burst: %d allowed, want 5", got)
	}
	c.advance(3 * time.Second) // 1/s refill
	if got := allowed(l, "a", 10); got != 3 {
		t.Fatalf("after 3s: %d allowed, want 3", got)
	}
}

func TestDecisionHints(t *testing.T) {
	l, c := newLimiter(t, Policy{Events: 4, Window: 8 * time.Second})
	d := l.Allow("a")
	if !d.Allowed || d.Remaining != 3 || d.UntilNext != 2*time.Second {
		t.Fatalf("first: %+v", d)
	}
	c.advance(500 * time.Millisecond)
	d = l.Allow("a")
	// 3.25 tokens before, 2.25 after: 2 whole, the third in 1.5s.
	if d.Remaining != 2 || d.UntilNext != 1500*time.Millisecond {
		t.Fatalf("second: %+v", d)
	}
	c.advance(time.Minute)
	if d := l.Allow("b"); d.Remaining != 3 {
		t.Fatalf("fresh key: %+v", d)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	l, _ := newLimiter(t, Policy{Events: 2, Window: time.Minute})
	if allowed(l, "a", 5) != 2 || allowed(l, "b", 5) != 2 || allowed(l, "a", 1) != 0 {
		t.Fatal("one key's requests used another key's bucket")
	}
}

func TestMaxKeysBoundsMemory(t *testing.T) {
	l, _ := newLimiter(t, Policy{Events: 1, Window: time.Minute, MaxKeys: 100})
	for i := range 1000 {
		l.Allow(fmt.Sprint("client-", i))
	}
	if l.Len() != 100 {
		t.Fatalf("tracking %d keys, max 100", l.Len())
	}
	// The most recent keys are remembered.
	if l.Allow("client-999").Allowed {
		t.Fatal("the most recent key was forgotten")
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Policy{
		{Events: 0, Window: time.Second},
		{Events: 1, Window: 500 * time.Millisecond},
		{Events: 1, Window: 1500 * time.Millisecond},
		{Events: 1, Window: time.Second, Burst: -1},
		{Events: 1, Window: time.Second, MaxKeys: -1},
	} {
		if _, err := New(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// TestMemoryPerKey measures the heap cost of a tracked key (bucket, LRU
// entry, map slot and a 36-byte key like a user id) and holds it to the
// bound the package documents.
func TestMemoryPerKey(t *testing.T) {
	const n = 50000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := New(Policy{Events: 10, Window: time.Minute, MaxKeys: n})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		// As in a request, the key is a fresh string the bucket keeps.
		l.Allow(fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per tracked key", perKey)
	if perKey > 320 {
		t.Fatalf("%.0f bytes per key, documented as about 240", perKey)
	}
	runtime.KeepAlive(l)
}
