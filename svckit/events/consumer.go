package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Handler applies one event inside tx; the event counts as processed only if
// tx commits. A returned error rolls tx back and the event is redelivered.
type Handler func(ctx context.Context, tx pgx.Tx, e Envelope) error

// Consumer is a durable JetStream consumer shared by all instances of a
// service: each event goes to one of them.
type Consumer struct {
	Name    string // durable name, unique per service and subject
	Subject string
	Handle  Handler
	// Deliveries before an event is dead-lettered. Default 5.
	MaxDeliver int
}

const (
	consumerAckWait      = 30 * time.Second
	consumerHandleTime   = 10 * time.Second
	consumerInfoInterval = 2 * time.Second
	// processedRetention: an event older than the stream's retention cannot
	// come again, so its processed row can go.
	processedRetention = eventsRetention + 24*time.Hour
	pruneInterval      = 10 * time.Minute
)

// Run consumes until ctx ends, setting the consumer up (again) whenever NATS
// or the stream is not there yet.
func (c Consumer) Run(ctx context.Context, bus *Bus, pool *pgxpool.Pool, m *ConsumerMetrics, log *slog.Logger) {
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if m == nil {
		m = NewConsumerMetrics(nil)
	}
	m.start(c.Name)
	log = log.With("consumer", c.Name)
	w := &worker{Consumer: c, bus: bus, pool: pool, m: m, log: log}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		cons, err := w.setup(ctx)
		if err != nil {
			if attempt == 0 || attempt%50 == 0 {
				log.Warn("consumer not set up yet; retrying", "error", err.Error())
			}
			if !sleep(ctx, backoff(attempt, 2*time.Second)) {
				return
			}
			continue
		}
		attempt = -1
		w.consume(ctx, cons)
	}
}

type worker struct {
	Consumer
	bus  *Bus
	pool *pgxpool.Pool
	m    *ConsumerMetrics
	log  *slog.Logger
}

func (w *worker) setup(ctx context.Context) (jetstream.Consumer, error) {
	if err := w.bus.EnsureStreams(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return w.bus.JS.CreateOrUpdateConsumer(ctx, EventsStream, jetstream.ConsumerConfig{
		Durable:       w.Name,
		FilterSubject: w.Subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       consumerAckWait,
		// A backstop for a message that crashes the process each time (it
		// never reaches our own dead-lettering): the server stops there.
		MaxDeliver: 2 * w.MaxDeliver,
	})
}

// consume handles messages until ctx ends or the consumer breaks (it was
// deleted, or the stream): then Run sets it up again.
func (w *worker) consume(ctx context.Context, cons jetstream.Consumer) {
	broken := make(chan struct{}, 1)
	cc, err := cons.Consume(func(msg jetstream.Msg) { w.handle(ctx, msg) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case broken <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		w.log.Warn("consume", "error", err.Error())
		sleep(ctx, time.Second)
		return
	}
	defer cc.Stop()
	info := time.NewTicker(consumerInfoInterval)
	defer info.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-broken:
			w.bus.resetStreams()
			return
		case <-info.C:
			w.updatePending(ctx, cons)
			if time.Since(lastPrune) > pruneInterval {
				w.prune(ctx)
				lastPrune = time.Now()
			}
		}
	}
}

func (w *worker) updatePending(ctx context.Context, cons jetstream.Consumer) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if info, err := cons.Info(ctx); err == nil {
		w.m.Pending.WithLabelValues(w.Name).Set(float64(info.NumPending) + float64(info.NumAckPending))
	}
}

func (w *worker) prune(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = w.pool.Exec(ctx, `DELETE FROM event_processed WHERE processed_at < now() - make_interval(secs => $1)`,
		processedRetention.Seconds())
}

// handle applies one message: ack after commit, duplicates acked without
// effect, failures redelivered with backoff until MaxDeliver, then
// dead-lettered.
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) {
	delivered := uint64(1)
	if md, err := msg.Metadata(); err == nil {
		delivered = md.NumDelivered
	}
	env, err := Decode(msg.Data())
	if err != nil {
		w.deadLetter(ctx, msg, "", fmt.Errorf("malformed event: %w", err))
		return
	}
	hctx := otel.GetTextMapPropagator().Extract(ctx, headerCarrier(msg.Headers()))
	hctx, cancel := context.WithTimeout(hctx, consumerHandleTime)
	defer cancel()
	dup, err := w.apply(hctx, env)
	if err != nil {
		w.m.Failures.WithLabelValues(w.Name).Inc()
		if delivered >= uint64(w.MaxDeliver) {
			w.deadLetter(ctx, msg, env.ID, err)
			return
		}
		w.log.Warn("event failed; will be redelivered", "event_id", env.ID, "type", env.Type,
			"delivery", delivered, "error", err.Error())
		_ = msg.NakWithDelay(backoff(int(delivered), 5*time.Second))
		return
	}
	if err := msg.Ack(); err != nil {
		// Committed: the redelivery will be a duplicate.
		w.log.Warn("ack failed", "event_id", env.ID, "error", err.Error())
	}
	if dup {
		w.m.Duplicates.WithLabelValues(w.Name).Inc()
	} else {
		w.m.Processed.WithLabelValues(w.Name).Inc()
	}
}

// apply runs the handler in a transaction that also records the event as
// processed; dup reports an event applied before.
func (w *worker) apply(ctx context.Context, env Envelope) (dup bool, err error) {
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO event_processed (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			w.Name, env.ID)
		if err != nil {
			return fmt.Errorf("record processed: %w", err)
		}
		if tag.RowsAffected() == 0 {
			dup = true
			return nil
		}
		return w.Handle(ctx, tx, env)
	})
	return dup, err
}

// deadLetter moves msg to the dead-letter subject and terminates it there, so
// it no longer holds up the consumer. If even that publish fails the message
// is redelivered later.
func (w *worker) deadLetter(ctx context.Context, msg jetstream.Msg, eventID string, cause error) {
	dl := &nats.Msg{Subject: DeadLetterPrefix + w.Name, Data: msg.Data(), Header: nats.Header{}}
	for k, v := range msg.Headers() {
		// The relay's expectations were about EVENTS, not this stream.
		if !strings.HasPrefix(k, "Nats-Expected-") {
			dl.Header[k] = v
		}
	}
	dl.Header.Set("Dead-Letter-Reason", cause.Error())
	dl.Header.Set("Dead-Letter-Subject", msg.Subject())
	pctx, cancel := context.WithTimeout(ctx, relayPublishTimeout)
	defer cancel()
	if _, err := w.bus.JS.PublishMsg(pctx, dl); err != nil {
		w.log.Warn("dead-letter publish failed; redelivering", "event_id", eventID, "error", err.Error())
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	_ = msg.Term()
	w.m.DeadLettered.WithLabelValues(w.Name).Inc()
	w.log.Error("event dead-lettered", "event_id", eventID, "subject", msg.Subject(),
		"dead_letter_subject", dl.Subject, "error", cause.Error())
}

// headerCarrier gives the propagator a message's headers. NATS header names
// are case-sensitive and the relay writes them as the propagator names them
// ("traceparent"); http.Header's canonicalising Get would miss them.
func headerCarrier(h nats.Header) propagation.MapCarrier {
	c := make(propagation.MapCarrier, len(h))
	for k, v := range h {
		if len(v) > 0 {
			c[strings.ToLower(k)] = v[0]
		}
	}
	return c
}
