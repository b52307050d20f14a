package pgservice

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/svckit/events"
)

// Publisher is a store that writes events to its outbox (svckit/events); it
// is given the relay so that it can Kick it after a commit. Without NATS_URL
// the relay is nil (Kick on nil does nothing) and events wait in the outbox.
type Publisher interface {
	UseRelay(*events.Relay)
}

// Subscriber is a store that consumes events.
type Subscriber interface {
	Consumers() []events.Consumer
}

// startEvents connects to NATS_URL, if it is set, and runs the store's
// outbox relay and consumers until the returned stop is called. Without
// NATS_URL the service runs without the event bus.
func startEvents(ctx context.Context, log *slog.Logger, name string, pool *pgxpool.Pool, st Store, reg prometheus.Registerer) (stop func()) {
	url := os.Getenv("NATS_URL")
	if url == "" {
		log.Info("NATS_URL not set: events stay in the outbox, no consumers")
		return func() {}
	}
	bus, err := events.Connect(url, name, log)
	if err != nil {
		log.Error("event bus disabled", "error", err.Error())
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if p, ok := st.(Publisher); ok {
		relay := events.NewRelay(pool, bus, log, events.NewRelayMetrics(reg))
		p.UseRelay(relay)
		wg.Go(func() { relay.Run(ctx) })
	}
	if s, ok := st.(Subscriber); ok {
		m := events.NewConsumerMetrics(reg)
		for _, c := range s.Consumers() {
			wg.Go(func() { c.Run(ctx, bus, pool, m, log) })
		}
	}
	return func() {
		cancel()
		wg.Wait()
		bus.Close()
	}
}
