package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream names. EVENTS holds the catalogue; DEADLETTER what consumers gave
// up on, under DeadLetterPrefix + consumer name.
const (
	EventsStream     = "EVENTS"
	DeadLetterStream = "DEADLETTER"
	DeadLetterPrefix = "deadletter."
)

// eventsRetention is how long EVENTS keeps events: how far back a live feed
// can resume and how long a consumer may be down and still catch up.
const eventsRetention = 7 * 24 * time.Hour

// dedupWindow is JetStream's Nats-Msg-Id duplicate window: an event the relay
// publishes again (it crashed between the ack and deleting the outbox row)
// within it is stored once.
const dedupWindow = 2 * time.Minute

// Bus is a connection to NATS JetStream that survives the server being down:
// it connects in the background and reconnects for ever.
type Bus struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
	log  *slog.Logger

	mu          sync.Mutex
	streams     bool // EVENTS and DEADLETTER exist (as far as we know)
	onReconnect []func()
}

// OnReconnect registers f to run after each reconnection to NATS (plain
// subscribers may have missed messages while disconnected).
func (b *Bus) OnReconnect(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onReconnect = append(b.onReconnect, f)
}

// Connect returns a Bus for url at once, whether or not NATS is up yet.
// name identifies the client in NATS' monitoring.
func Connect(url, name string, log *slog.Logger) (*Bus, error) {
	b := &Bus{log: log}
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.Timeout(2*time.Second),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err.Error())
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			log.Info("nats reconnected")
			b.mu.Lock()
			b.streams = false // the server may have lost them
			hooks := slices.Clone(b.onReconnect)
			b.mu.Unlock()
			for _, f := range hooks {
				f()
			}
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", name, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b.Conn, b.JS = nc, js
	return b, nil
}

// Close drains nothing: outbox rows not yet acknowledged stay in the outbox.
func (b *Bus) Close() { b.Conn.Close() }

// EnsureStreams creates the streams, or updates one whose settings differ,
// once per connection.
func (b *Bus) EnsureStreams(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.streams {
		return nil
	}
	if !b.Conn.IsConnected() {
		return errors.New("nats: not connected")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, cfg := range []jetstream.StreamConfig{
		{
			Name:       EventsStream,
			Subjects:   []string{"accounts.>", "profiles.>", "posts.>"},
			Storage:    jetstream.FileStorage,
			Retention:  jetstream.LimitsPolicy,
			MaxAge:     eventsRetention,
			Duplicates: dedupWindow,
		},
		{
			Name:     DeadLetterStream,
			Subjects: []string{DeadLetterPrefix + ">"},
			Storage:  jetstream.FileStorage,
			MaxAge:   eventsRetention,
		},
	} {
		if err := b.ensureStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	b.streams = true
	return nil
}

// ensureStream leaves a stream that already has cfg's settings alone rather
// than updating it as CreateOrUpdateStream would. Every instance of every
// service ensures the streams when it starts, and an update rewrites the
// stream's metadata while other instances create their consumers on it:
// needless work, and in nats-server 2.15.2 a data race between
// fileStore.UpdateConfig and fileStore.ConsumerStore (the race detector saw
// it in our tests, which embed the server).
func (b *Bus) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	s, err := b.JS.Stream(ctx, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// Two instances may both find it missing: the server answers an
		// identical second create with the stream the first one made.
		_, err = b.JS.CreateStream(ctx, cfg)
		return err
	case err != nil:
		return err
	case hasSettings(s.CachedInfo().Config, cfg):
		return nil
	}
	_, err = b.JS.UpdateStream(ctx, cfg)
	return err
}

// hasSettings reports whether a stream's config have carries every setting
// want declares; the settings want leaves zero are the server's defaults,
// which have spells out.
func hasSettings(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) &&
		have.Storage == want.Storage &&
		have.Retention == want.Retention &&
		have.MaxAge == want.MaxAge &&
		(want.Duplicates == 0 || have.Duplicates == want.Duplicates)
}

// backoff returns the wait before attempt n (0-based) of something that keeps
// failing: 100ms doubling to at most max.
func backoff(n int, max time.Duration) time.Duration {
	d := 100 * time.Millisecond << min(n, 10)
	return min(d, max)
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// resetStreams makes the next EnsureStreams create the streams again (the
// server answered that one is missing).
func (b *Bus) resetStreams() {
	b.mu.Lock()
	b.streams = false
	b.mu.Unlock()
}
