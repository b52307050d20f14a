package events_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/events/natstest"
	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/pgstore"
	"github.com/caddysocial/platform/svckit/pgtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setup returns a migrated database pool with a table "applied" for the
// consumer tests, and a running NATS.
func setup(t testing.TB) (*pgxpool.Pool, *natstest.Server, *events.Bus) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(context.Background(), pool, events.Migrations, events.VersionTable); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, dsn, `CREATE TABLE applied (event_id uuid, n int)`)
	ns := natstest.Start(t)
	bus, err := events.Connect(ns.URL(), "test", quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	return pool, ns, bus
}

// writeEvent is events.Write for aggregate "u".
func writeEvent(tx pgx.Tx, e events.Envelope) error {
	return events.Write(context.Background(), tx, "u", e)
}

// produce writes events for aggregate in one transaction, as a producer does.
func produce(t *testing.T, pool *pgxpool.Pool, aggregate string, envs ...events.Envelope) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		for _, e := range envs {
			if err := events.Write(context.Background(), tx, aggregate, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newEvent(t testing.TB, name string) events.Envelope {
	t.Helper()
	e, err := events.New(events.ProfileUpdated, 1, events.ProfileUpdatedData{UUID: "u", Username: name})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func runRelay(t testing.TB, pool *pgxpool.Pool, bus *events.Bus) *events.RelayMetrics {
	m := events.NewRelayMetrics(nil)
	r := events.NewRelay(pool, bus, quiet, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// fetchAll reads every message of subject from the EVENTS stream.
func fetchAll(t *testing.T, bus *events.Bus, subject string, want int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := bus.JS.OrderedConsumer(ctx, events.EventsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	for len(got) < want {
		batch, err := c.Fetch(want-len(got), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			got = append(got, m)
		}
		if batch.Error() != nil {
			t.Fatal(batch.Error())
		}
	}
	return got
}

func backlog(t testing.TB, pool *pgxpool.Pool) int {
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM event_outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRelayPublishesInOrderWithEventIDAsMsgID(t *testing.T) {
	pool, _, bus := setup(t)
	a, b, c := newEvent(t, "a"), newEvent(t, "b"), newEvent(t, "c")
	produce(t, pool, "u", a, b)
	produce(t, pool, "u", c)
	m := runRelay(t, pool, bus)

	got := fetchAll(t, bus, events.ProfileUpdated, 3)
	for i, want := range []events.Envelope{a, b, c} {
		if id := got[i].Headers().Get(jetstream.MsgIDHeader); id != want.ID {
			t.Errorf("message %d: Nats-Msg-Id %q, want the event id %q (out of order?)", i, id, want.ID)
		}
		e, err := events.Decode(got[i].Data())
		if err != nil || e.ID != want.ID || e.Type != events.ProfileUpdated || e.Version != 1 {
			t.Errorf("message %d: envelope %+v, %v", i, e, err)
		}
	}
	eventually.True(t, 0, "outbox emptied", func() bool { return backlog(t, pool) == 0 })
	// The relay counts a batch after deleting its rows: wait for the count,
	// then check that it is exact.
	eventually.True(t, 0, "outbox_published_total to reach 3", func() bool { return testutil.ToFloat64(m.Published) >= 3 })
	if n := testutil.ToFloat64(m.Published); n != 3 {
		t.Errorf("outbox_published_total = %v, want 3", n)
	}
}

// The same event published twice (the relay crashed between JetStream's ack
// and deleting the row) is stored once.
func TestRepublishedEventIsStoredOnce(t *testing.T) {
	pool, _, bus := setup(t)
	e := newEvent(t, "x")
	produce(t, pool, "u", e)
	runRelay(t, pool, bus)
	eventually.True(t, 0, "outbox emptied", func() bool { return backlog(t, pool) == 0 })
	produce(t, pool, "u", e) // the same id again, a new outbox row
	eventually.True(t, 0, "outbox emptied again", func() bool { return backlog(t, pool) == 0 })
	info, err := bus.JS.Stream(context.Background(), events.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("stream holds %d messages, want 1", n)
	}
}

func TestRequestsSucceedAndEventsWaitWhileNATSIsDown(t *testing.T) {
	pool, ns, bus := setup(t)
	m := runRelay(t, pool, bus)
	first := newEvent(t, "before")
	produce(t, pool, "u", first)
	eventually.True(t, 0, "first event published", func() bool { return backlog(t, pool) == 0 })

	ns.Stop()
	var waiting []events.Envelope
	for i := range 5 {
		e := newEvent(t, string(rune('a'+i)))
		produce(t, pool, "u", e) // the producer's transaction does not need NATS
		waiting = append(waiting, e)
	}
	eventually.True(t, 0, "publish failures counted", func() bool { return testutil.ToFloat64(m.Failures) > 0 })
	eventually.True(t, 0, "backlog gauge", func() bool { return testutil.ToFloat64(m.Backlog) == 5 })
	if age := testutil.ToFloat64(m.OldestAge); age <= 0 {
		t.Errorf("outbox_oldest_unsent_age_seconds = %v with a backlog", age)
	}

	ns.Restart()
	eventually.True(t, 0, "backlog sent after NATS returned", func() bool { return backlog(t, pool) == 0 })
	got := fetchAll(t, bus, events.ProfileUpdated, 6)
	for i, want := range append([]events.Envelope{first}, waiting...) {
		if id := got[i].Headers().Get(jetstream.MsgIDHeader); id != want.ID {
			t.Errorf("message %d is %s, want %s: order per aggregate broken", i, id, want.ID)
		}
	}
	eventually.True(t, 0, "backlog gauge back to 0", func() bool { return testutil.ToFloat64(m.Backlog) == 0 })
}

var errPoison = errors.New("poison")

func TestConsumerIsIdempotentAndDeadLettersPoison(t *testing.T) {
	pool, _, bus := setup(t)
	runRelay(t, pool, bus)
	cm := events.NewConsumerMetrics(nil)
	cons := events.Consumer{
		Name: "test-consumer", Subject: events.ProfileUpdated, MaxDeliver: 2,
		Handle: func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
			var d events.ProfileUpdatedData
			if err := e.DataAs(&d); err != nil {
				return err
			}
			if d.Username == "poison" {
				return errPoison
			}
			_, err := tx.Exec(ctx, `INSERT INTO applied VALUES ($1, 1)`, e.ID)
			return err
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	// Two instances share the durable consumer.
	for range 2 {
		go func() { cons.Run(ctx, bus, pool, cm, quiet); done <- struct{}{} }()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })

	good, poison, after := newEvent(t, "good"), newEvent(t, "poison"), newEvent(t, "after")
	produce(t, pool, "u", good, poison, after)
	eventually.True(t, 0, "good events applied", func() bool { return testutil.ToFloat64(cm.Processed.WithLabelValues("test-consumer")) == 2 })

	// A duplicate delivery (published again outside the dedup window, say)
	// changes nothing.
	dup := &nats.Msg{Subject: events.ProfileUpdated, Header: nats.Header{}}
	dup.Data = fetchAll(t, bus, events.ProfileUpdated, 1)[0].Data()
	if _, err := bus.JS.PublishMsg(context.Background(), dup); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 0, "duplicate counted", func() bool { return testutil.ToFloat64(cm.Duplicates.WithLabelValues("test-consumer")) == 1 })
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM applied WHERE event_id = $1`, good.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("good event applied %d times (%v), want once", n, err)
	}

	eventually.True(t, 0, "poison dead-lettered", func() bool { return testutil.ToFloat64(cm.DeadLettered.WithLabelValues("test-consumer")) == 1 })
	dl, err := bus.JS.OrderedConsumer(context.Background(), events.DeadLetterStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := dl.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject() != events.DeadLetterPrefix+"test-consumer" || msg.Headers().Get(jetstream.MsgIDHeader) != poison.ID ||
		msg.Headers().Get("Dead-Letter-Reason") != errPoison.Error() {
		t.Errorf("dead letter %s %v", msg.Subject(), msg.Headers())
	}
	if f := testutil.ToFloat64(cm.Failures.WithLabelValues("test-consumer")); f != 2 {
		t.Errorf("failures = %v, want 2 (MaxDeliver)", f)
	}
}

// A running consumer exports its counters from the start, at 0.
func TestConsumerCountersStartAtZero(t *testing.T) {
	pool, _, bus := setup(t)
	cm := events.NewConsumerMetrics(nil)
	cons := events.Consumer{Name: "zero-consumer", Subject: events.ProfileUpdated,
		Handle: func(context.Context, pgx.Tx, events.Envelope) error { return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cons.Run(ctx, bus, pool, cm, quiet) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually.True(t, 0, "the consumer's counters exported", func() bool {
		return testutil.CollectAndCount(cm.DeadLettered, "events_consumer_dead_lettered_total") == 1 &&
			testutil.CollectAndCount(cm.Processed, "events_consumer_processed_total") == 1
	})
	if v := testutil.ToFloat64(cm.DeadLettered.WithLabelValues("zero-consumer")); v != 0 {
		t.Fatalf("dead-lettered %v before any event", v)
	}
}
