package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
)

// Instances starting together on an empty server all get the streams (an
// identical second create is not an error).
func TestEnsureStreamsConcurrentFirstStart(t *testing.T) {
	ns := natstest.Start(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		bus, err := events.Connect(ns.URL(), "instance", quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(bus.Close)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs[i] = bus.EnsureStreams(ctx)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// An instance starting on up-to-date streams leaves them alone (no update
// advisory from the server); one starting after an operator changed a
// declared setting puts it back.
func TestEnsureStreamsUpdatesOnlyWhatDiffers(t *testing.T) {
	ns := natstest.Start(t)
	first := ns.Bus(t)
	updates, err := first.Conn.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.UPDATED.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	nextUpdate := func(wait time.Duration) (string, error) {
		m, err := updates.NextMsg(wait)
		if err != nil {
			return "", err
		}
		return m.Subject, nil
	}

	ns.Bus(t) // a second instance
	if subj, err := nextUpdate(500 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("second instance: update advisory %q (%v), want none", subj, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := first.JS.Stream(ctx, events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	declared := s.CachedInfo().Config
	changed := declared
	changed.MaxAge = time.Hour
	if _, err := first.JS.UpdateStream(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if subj, err := nextUpdate(5 * time.Second); err != nil || subj != "$JS.EVENT.ADVISORY.STREAM.UPDATED.EVENTS" {
		t.Fatalf("operator's update: advisory %q, %v", subj, err)
	}

	ns.Bus(t) // an instance starting after the change
	if subj, err := nextUpdate(5 * time.Second); err != nil || subj != "$JS.EVENT.ADVISORY.STREAM.UPDATED.EVENTS" {
		t.Fatalf("restoring instance: advisory %q, %v", subj, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != declared.MaxAge {
		t.Errorf("MaxAge %v after the next start, want %v", info.Config.MaxAge, declared.MaxAge)
	}
	if subj, err := nextUpdate(500 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("one more update advisory %q (%v), want none", subj, err)
	}
}
