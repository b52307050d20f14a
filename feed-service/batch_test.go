package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// newestOf is the feed the fake's data should give me: the ten newest posts
// of my friends (ties by author), with usernames.
func newestOf(f *fakeServices, friends []string) []item {
	var all []item
	for _, id := range friends {
		for _, p := range f.posts[id] {
			all = append(all, item{Username: f.profiles[id], AuthorUUID: id, Content: p.Content, Timestamp: p.Timestamp})
		}
	}
	slices.SortStableFunc(all, func(a, b item) int {
		if c := strings.Compare(b.Timestamp, a.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.AuthorUUID, b.AuthorUUID)
	})
	return all[:min(10, len(all))]
}

func wantFeed(t *testing.T, url, me string, want []item) {
	t.Helper()
	status, h, items, raw := getFeed(t, url, me)
	if status != 200 || h.Get("X-Feed-Incomplete") != "" || !slices.Equal(items, want) {
		t.Fatalf("%d %q %s\nwant %+v", status, h.Get("X-Feed-Incomplete"), raw, want)
	}
}

// Against our services the feed takes one posts call per 200 friends and
// one profiles call, and is the same feed as from the per-id calls.
func TestBatchEndpointsAreUsed(t *testing.T) {
	f := newFake()
	f.batch = true
	me, friends := world(f, 450, 3)
	wantFeed(t, start(t, f, 5*time.Second), me, newestOf(f, friends))
	if p, b := f.postsCalls.Load(), f.batchPostsCalls.Load(); p != 0 || b != 3 {
		t.Fatalf("%d per-friend and %d batch posts calls, want 0 and 3 (450 friends in batches of 200)", p, b)
	}
	if p, b := f.profileCalls.Load(), f.batchProfilesCalls.Load(); p != 0 || b != 1 {
		t.Fatalf("%d per-author and %d batch profile calls, want 0 and 1", p, b)
	}
}

// Behind the original services (no batch routes: 404) the feed falls back
// to per-id calls in the same request, and later feeds do not try again
// (until DefaultReprobe has passed, see internal/feed's tests).
func TestBatchFallbackIsRemembered(t *testing.T) {
	for _, original := range []bool{false, true} {
		f := newFake()
		f.original = original
		me, friends := world(f, 30, 4)
		// The call counts below are exact: no attempt may time out and be
		// retried on a loaded machine.
		patient := testPolicy
		patient.AttemptTimeout = 5 * time.Second
		url := startWith(t, f, 10*time.Second, patient)
		want := newestOf(f, friends)
		wantFeed(t, url, me, want)
		if got := f.missingBatch.Load(); got != 2 {
			t.Fatalf("original=%v: %d batch calls answered 404, want 2 (posts and profiles, once)", original, got)
		}
		if got := f.postsCalls.Load(); got != 30 {
			t.Fatalf("original=%v: %d per-friend posts calls, want 30", original, got)
		}
		wantFeed(t, url, me, want)
		if got := f.missingBatch.Load(); got != 2 {
			t.Fatalf("original=%v: batch tried again at once (%d calls answered 404)", original, got)
		}
	}
}

// A rolling update: one backend with the batch routes, one without, taken
// in turn. Every feed is whole and right, whichever backend answers.
func TestMixedBackendPool(t *testing.T) {
	f := newFake()
	f.batch, f.mixed = true, true
	me, friends := world(f, 450, 2)
	url := start(t, f, 5*time.Second)
	want := newestOf(f, friends)
	for range 4 {
		wantFeed(t, url, me, want)
	}
	if f.missingBatch.Load() == 0 || f.batchPostsCalls.Load() == 0 {
		t.Fatalf("the pool was not mixed: %d batch calls answered 404, %d served", f.missingBatch.Load(), f.batchPostsCalls.Load())
	}
}

// A failed batch call (after retries) loses its friends' posts only: the
// feed is built from the other batches and says how many friends are
// missing; if every batch fails, the feed fails.
func TestBatchPartialFailure(t *testing.T) {
	f := newFake()
	f.batch = true
	me, friends := world(f, 250, 2)
	f.failPosts[friends[249]] = true // in the second batch (friends 200-249)
	url := start(t, f, 5*time.Second)
	status, h, items, raw := getFeed(t, url, me)
	if status != 200 || len(items) != 10 || h.Get("X-Feed-Incomplete") != "posts=50, usernames=0" {
		t.Fatalf("%d %q %s", status, h.Get("X-Feed-Incomplete"), raw)
	}
	if want := newestOf(f, friends[:200]); !slices.Equal(items, want) {
		t.Fatalf("feed %+v, want the first batch's newest %+v", items, want)
	}
	f.failPosts[friends[0]] = true
	if status, _, _, raw := getFeed(t, url, me); status != 502 || !strings.Contains(raw, "posts") {
		t.Fatalf("every batch failing: %d %s", status, raw)
	}
	if got := f.postsCalls.Load(); got != 0 {
		t.Fatalf("%d per-friend calls: a failing batch is not a missing route", got)
	}
}

// Profiles the batch does not list have no profile: an empty username, and
// the feed is complete; a failing profiles call leaves the usernames empty
// and says so.
func TestBatchUsernames(t *testing.T) {
	f := newFake()
	f.batch = true
	me, friends := world(f, 2, 1)
	delete(f.profiles, friends[0])
	url := start(t, f, 5*time.Second)
	wantFeed(t, url, me, newestOf(f, friends))
	f.profilesDown.Store(true)
	status, h, items, raw := getFeed(t, url, me)
	if status != 200 || len(items) != 2 || h.Get("X-Feed-Incomplete") != "posts=0, usernames=2" {
		t.Fatalf("profiles failing: %d %q %s", status, h.Get("X-Feed-Incomplete"), raw)
	}
	if f.profileCalls.Load() != 0 {
		t.Fatal("a failing batch fell back to per-id calls")
	}
}
