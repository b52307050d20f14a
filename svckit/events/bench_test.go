package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/caddysocial/platform/svckit/events"
)

// BenchmarkRelay measures the outbox's price: events/s from committed outbox
// rows to JetStream acks through the relay, against the same events
// published directly (synchronously, with Nats-Msg-Id) by the producer, on
// the same embedded NATS and PostgreSQL in the same run. Run with
// scripts/with-postgres.sh (docs/BENCHMARKS.md has the command).
func BenchmarkRelay(b *testing.B) {
	const n = 2000
	b.Run("direct", func(b *testing.B) {
		_, _, bus := setup(b)
		ctx := context.Background()
		if err := bus.EnsureStreams(ctx); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			for range n {
				e := newEvent(b, "x")
				data, _ := json.Marshal(e)
				if _, err := bus.JS.PublishMsg(ctx, &nats.Msg{Subject: e.Type, Data: data}, jetstream.WithMsgID(e.ID)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("relay", func(b *testing.B) {
		// The relay alone: it drains n committed rows.
		pool, _, bus := setup(b)
		if err := bus.EnsureStreams(context.Background()); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
				for range n {
					if err := writeEvent(tx, newEvent(b, "x")); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			relay := events.NewRelay(pool, bus, quiet, nil)
			done := make(chan struct{})
			b.StartTimer()
			go func() { defer close(done); relay.Run(ctx) }()
			for backlog(b, pool) > 0 {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cancel()
			<-done
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("outbox+relay", func(b *testing.B) {
		// End to end: a transaction per event, as requests write them, until
		// the relay has published the last.
		pool, _, bus := setup(b)
		runRelay(b, pool, bus)
		for b.Loop() {
			for range n {
				e := newEvent(b, "x")
				if err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
					return writeEvent(tx, e)
				}); err != nil {
					b.Fatal(err)
				}
			}
			for backlog(b, pool) > 0 {
				time.Sleep(time.Millisecond)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
