package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Relay tuning.
const (
	relayBatch          = 100
	relayPollInterval   = 200 * time.Millisecond
	relayMaxBackoff     = 2 * time.Second
	relayPublishTimeout = 2 * time.Second
	relayGaugeInterval  = time.Second
)

// relayLockKey is the PostgreSQL advisory lock only one relay of a database
// holds while it publishes: with two instances of a service, events still
// go out one at a time in outbox order.
const relayLockKey = "svckit/events relay"

// Relay publishes a database's outbox to JetStream. Rows go out in outbox
// order (seq), each published synchronously and acknowledged by JetStream
// before the next, so the events of one aggregate arrive in the order their
// transactions committed; a row is deleted only after its ack. While NATS is
// down rows wait and the relay retries with backoff.
type Relay struct {
	pool    *pgxpool.Pool
	bus     *Bus
	log     *slog.Logger
	metrics *RelayMetrics
	kick    chan struct{}
}

// NewRelay returns a relay of pool's outbox to bus; Run starts it.
func NewRelay(pool *pgxpool.Pool, bus *Bus, log *slog.Logger, m *RelayMetrics) *Relay {
	if m == nil {
		m = NewRelayMetrics(nil)
	}
	return &Relay{pool: pool, bus: bus, log: log, metrics: m, kick: make(chan struct{}, 1)}
}

// Kick makes the relay look at the outbox now instead of at its next poll;
// producers call it after committing an event. Never blocks.
func (r *Relay) Kick() {
	if r == nil {
		return
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	failures := 0
	var lastGauge time.Time
	for ctx.Err() == nil {
		n, err := r.relayOnce(ctx)
		if time.Since(lastGauge) >= relayGaugeInterval || err != nil {
			r.updateGauges(ctx)
			lastGauge = time.Now()
		}
		switch {
		case err != nil:
			failures++
			if failures == 1 || failures%50 == 0 {
				r.log.Warn("outbox relay: events wait in the outbox", "error", err.Error(), "attempts", failures)
			}
			if !sleep(ctx, backoff(failures, relayMaxBackoff)) {
				return
			}
			continue
		case failures > 0:
			r.log.Info("outbox relay: publishing again", "after_attempts", failures)
			failures = 0
		}
		if n == relayBatch {
			continue // more waiting
		}
		t := time.NewTimer(relayPollInterval)
		select {
		case <-ctx.Done():
		case <-r.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

type outboxRow struct {
	seq     int64
	id      string
	subject string
	payload []byte
	headers map[string]string
}

// relayOnce publishes up to one batch; it returns how many it published.
func (r *Relay) relayOnce(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, relayBatch*relayPublishTimeout)
	defer cancel()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext($1))`, relayLockKey).Scan(&locked); err != nil {
		return 0, fmt.Errorf("outbox: lock: %w", err)
	}
	if !locked {
		return 0, nil // another instance is relaying this outbox
	}
	rows, err := tx.Query(ctx, `SELECT seq, id::text, subject, payload, headers FROM event_outbox ORDER BY seq LIMIT $1`, relayBatch)
	if err != nil {
		return 0, fmt.Errorf("outbox: select: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		var headers []byte
		if err := row.Scan(&o.seq, &o.id, &o.subject, &o.payload, &headers); err != nil {
			return o, err
		}
		return o, json.Unmarshal(headers, &o.headers)
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: select: %w", err)
	}
	if len(batch) == 0 {
		return 0, tx.Commit(ctx)
	}
	var published []int64
	var pubErr error
	if pubErr = r.bus.EnsureStreams(ctx); pubErr == nil {
		for _, o := range batch {
			if pubErr = r.publish(ctx, o); pubErr != nil {
				r.metrics.Failures.Inc()
				break // the rest waits: order is kept
			}
			published = append(published, o.seq)
		}
	} else {
		r.metrics.Failures.Inc()
	}
	if len(published) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM event_outbox WHERE seq = ANY($1)`, published); err != nil {
			// Published but not deleted: the next attempt publishes them again
			// and JetStream drops them as duplicates (same Nats-Msg-Id).
			return 0, fmt.Errorf("outbox: delete published: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, fmt.Errorf("outbox: commit: %w", err)
		}
		r.metrics.Published.Add(float64(len(published)))
	}
	return len(published), pubErr
}

func (r *Relay) publish(ctx context.Context, o outboxRow) error {
	ctx, cancel := context.WithTimeout(ctx, relayPublishTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: o.subject, Data: o.payload, Header: nats.Header{}}
	for k, v := range o.headers {
		msg.Header.Set(k, v)
	}
	if _, err := r.bus.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(o.id), jetstream.WithExpectStream(EventsStream)); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, nats.ErrNoResponders) {
			r.bus.resetStreams()
		}
		return fmt.Errorf("outbox: publish %s %s: %w", o.subject, o.id, err)
	}
	return nil
}

func (r *Relay) updateGauges(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var n int64
	var age float64
	err := r.pool.QueryRow(ctx, `
		SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8
		  FROM event_outbox`).Scan(&n, &age)
	if err != nil {
		return // the database is down: the relay's own error says so
	}
	r.metrics.Backlog.Set(float64(n))
	r.metrics.OldestAge.Set(age)
}
