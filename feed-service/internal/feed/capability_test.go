package feed

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/feed-service/internal/upstream"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCapabilityReprobesAfterItsDelay(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var capab Capability
	capab.Now = c.now
	if !capab.Try() {
		t.Fatal("the zero Capability does not try the batch")
	}
	capab.Missing()
	c.t = c.t.Add(DefaultReprobe - time.Nanosecond)
	if capab.Try() {
		t.Fatal("tried again before DefaultReprobe")
	}
	c.t = c.t.Add(time.Nanosecond)
	if !capab.Try() {
		t.Fatal("not tried again after DefaultReprobe")
	}
	capab.ReprobeAfter = time.Minute
	capab.Missing()
	c.t = c.t.Add(59 * time.Second)
	if capab.Try() {
		t.Fatal("ReprobeAfter ignored")
	}
}

// A rolling update replaces post-service's backends: the feed goes from the
// per-friend calls to the batch once the re-probe finds the route; and back
// when the route disappears again (a rollback).
func TestBuilderFollowsARollingUpdate(t *testing.T) {
	me, friend := uuid.NewString(), uuid.NewString()
	var upgraded atomic.Bool
	var batchCalls, eachCalls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /friends", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]string{friend})
	})
	mux.HandleFunc("GET /profile/{id}", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"uuid": friend, "username": "f"})
	})
	mux.HandleFunc("GET /posts", func(w http.ResponseWriter, r *http.Request) {
		if !upgraded.Load() {
			http.NotFound(w, r)
			return
		}
		batchCalls.Add(1)
		json.NewEncoder(w).Encode([]Post{{AuthorUUID: friend, Content: "batch", Timestamp: "2026-11-27T10:00:00.000000Z"}})
	})
	mux.HandleFunc("GET /posts/{id}", func(w http.ResponseWriter, r *http.Request) {
		eachCalls.Add(1)
		json.NewEncoder(w).Encode([]Post{{AuthorUUID: friend, Content: "each", Timestamp: "2026-11-27T10:00:00.000000Z"}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	m := upstream.NewMetrics(prometheus.NewRegistry())
	client := upstream.New("lb", srv.URL, upstream.DefaultPolicy, m)
	c := &clock{t: time.Unix(1000, 0)}
	b := &Builder{Users: client, Posts: client, Names: &ProfileLookup{Users: client, Fanout: 4}, Fanout: 4}
	b.PostsBatch.Now = c.now

	content := func() string {
		t.Helper()
		f, err := b.Build(context.Background(), me)
		if err != nil || len(f.Items) != 1 || f.Items[0].Username != "f" {
			t.Fatalf("feed %+v, %v", f, err)
		}
		return f.Items[0].Content
	}
	if got := content(); got != "each" {
		t.Fatalf("before the update: %q", got)
	}
	upgraded.Store(true)
	c.t = c.t.Add(DefaultReprobe / 2)
	if got := content(); got != "each" || batchCalls.Load() != 0 {
		t.Fatalf("the batch was tried again before the re-probe: %q", got)
	}
	c.t = c.t.Add(DefaultReprobe / 2)
	if got := content(); got != "batch" {
		t.Fatalf("after the re-probe: %q", got)
	}
	upgraded.Store(false) // rolled back
	if got := content(); got != "each" {
		t.Fatalf("after the rollback: %q", got)
	}
	if got := content(); got != "each" || eachCalls.Load() != 4 {
		t.Fatalf("%q, %d per-friend calls, want 4", got, eachCalls.Load())
	}
}
