package feed

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// countingNames answers from a fixed table (ids it does not know have no
// profile; "broken" fails) and records which ids it was asked for.
type countingNames struct {
	table map[string]string
	asked [][]string
}

func (c *countingNames) Usernames(_ context.Context, _ string, ids []string) map[string]string {
	c.asked = append(c.asked, slices.Clone(ids))
	out := map[string]string{}
	for _, id := range ids {
		if id != "broken" {
			out[id] = c.table[id]
		}
	}
	return out
}

func TestUsernameCache(t *testing.T) {
	next := &countingNames{table: map[string]string{"a": "alice", "b": "bob"}}
	connected := true
	c := NewUsernameCache(next, 100, time.Hour, func() bool { return connected })
	ctx := context.Background()

	got := c.Usernames(ctx, "me", []string{"a", "b", "nobody", "broken"})
	if got["a"] != "alice" || got["b"] != "bob" || got["nobody"] != "" || len(got) != 3 {
		t.Fatalf("first lookup: %v", got)
	}
	// Cached names are not asked again, in one call for the rest; users
	// without a profile and failed lookups are asked again.
	c.Usernames(ctx, "me", []string{"a", "b", "nobody", "broken"})
	if last := next.asked[len(next.asked)-1]; !slices.Equal(last, []string{"nobody", "broken"}) {
		t.Fatalf("second lookup asked for %v, want only the uncached ids", last)
	}
	// profiles.updated for a: the next lookup asks user-lb for it.
	next.table["a"] = "alice2"
	c.Invalidate("a")
	if got := c.Usernames(ctx, "me", []string{"a"}); got["a"] != "alice2" {
		t.Fatalf("after invalidation: %v", got)
	}
	// Disconnected from the bus: no cache, every id asked.
	connected = false
	c.Usernames(ctx, "me", []string{"a", "b"})
	if last := next.asked[len(next.asked)-1]; !slices.Equal(last, []string{"a", "b"}) {
		t.Fatalf("disconnected lookup asked for %v, want every id", last)
	}
	// The live feed's single lookup: names, no profile, failure.
	connected = true
	if name, err := username(ctx, c, "me", "b"); name != "bob" || err != nil {
		t.Fatalf("username(b) = %q, %v", name, err)
	}
	if _, err := username(ctx, c, "me", "nobody"); err != errNoProfile {
		t.Fatalf("username(nobody) error %v, want errNoProfile", err)
	}
	if _, err := username(ctx, c, "me", "broken"); err != errLookupFailed {
		t.Fatalf("username(broken) error %v, want errLookupFailed", err)
	}
}

// feed_username_cache_lookups_total counts each username by where its
// answer came from, every result present from the start.
func TestUsernameCacheLookups(t *testing.T) {
	next := &countingNames{table: map[string]string{"a": "alice", "b": "bob"}}
	connected := true
	c := NewUsernameCache(next, 100, time.Hour, func() bool { return connected })
	c.Lookups = NewUsernameCacheLookups(prometheus.NewRegistry())
	if n := testutil.CollectAndCount(c.Lookups); n != 3 {
		t.Fatalf("%d series before any lookup, want hit, miss and bypass at 0", n)
	}
	ctx := context.Background()
	c.Usernames(ctx, "me", []string{"a", "b", "nobody"}) // 3 misses
	c.Usernames(ctx, "me", []string{"a", "b", "nobody"}) // 2 hits, 1 miss (no profile: not cached)
	connected = false
	c.Usernames(ctx, "me", []string{"a"}) // 1 bypass
	for result, want := range map[string]float64{"hit": 2, "miss": 4, "bypass": 1} {
		if got := testutil.ToFloat64(c.Lookups.WithLabelValues(result)); got != want {
			t.Errorf("%s = %v, want %v", result, got, want)
		}
	}
}
