package service

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/caddysocial/platform/svckit/events"
)

// EventBus connects to NATS at url (NATS_URL) for the service's life; NATS
// need not be up yet. With an empty url it returns nil: the service runs
// without the bus (a nil bus makes Relay and Consume do nothing).
func (s *Service) EventBus(url string) (*events.Bus, error) {
	if url == "" {
		s.Log.Info("NATS_URL not set: running without the event bus")
		return nil, nil
	}
	bus, err := events.Connect(url, s.Name, s.Log)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL: %w", err)
	}
	s.OnClose(bus.Close)
	return bus, nil
}

// Relay runs the relay that publishes pool's outbox (svckit/events) on bus
// and returns it, for the store to Kick after a commit. Without a bus it
// returns nil, and Kick on nil does nothing: events wait in the outbox.
func (s *Service) Relay(pool *pgxpool.Pool, bus *events.Bus) *events.Relay {
	if bus == nil {
		return nil
	}
	relay := events.NewRelay(pool, bus, s.Log, events.NewRelayMetrics(s.Registry))
	s.Go(relay.Run)
	return relay
}

// Consume runs the durable consumers on bus, each handling its events in a
// transaction on pool. Without a bus it does nothing.
func (s *Service) Consume(pool *pgxpool.Pool, bus *events.Bus, consumers ...events.Consumer) {
	if bus == nil || len(consumers) == 0 {
		return
	}
	if s.consumerMetrics == nil {
		s.consumerMetrics = events.NewConsumerMetrics(s.Registry)
	}
	m := s.consumerMetrics
	for _, c := range consumers {
		s.Go(func(ctx context.Context) { c.Run(ctx, bus, pool, m, s.Log) })
	}
}
