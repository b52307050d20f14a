package events_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/eventually"
)

// The trace of the request that wrote an event continues in its consumer:
// the outbox row keeps the W3C context, the relay sends it as NATS headers,
// the consumer's handler gets it in its context.
func TestTraceContextTravelsWithTheEvent(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{}) // as telemetry.Start does
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	pool, _, bus := setup(t)
	runRelay(t, pool, bus)
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	reqCtx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled, Remote: true,
	}))

	got := make(chan trace.SpanContext, 1)
	cons := events.Consumer{
		Name: "trace-consumer", Subject: events.ProfileUpdated, MaxDeliver: 2,
		Handle: func(ctx context.Context, _ pgx.Tx, _ events.Envelope) error {
			select {
			case got <- trace.SpanContextFromContext(ctx):
			default:
			}
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cons.Run(ctx, bus, pool, events.NewConsumerMetrics(nil), quiet) }()
	t.Cleanup(func() { cancel(); <-done })

	e := newEvent(t, "traced")
	if err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return events.Write(reqCtx, tx, "u", e)
	}); err != nil {
		t.Fatal(err)
	}
	msg := fetchAll(t, bus, events.ProfileUpdated, 1)[0]
	if tp := msg.Headers().Get("traceparent"); tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("published traceparent header %q", tp)
	}
	var sc trace.SpanContext
	eventually.True(t, 0, "the consumer handled the event", func() bool {
		select {
		case sc = <-got:
			return true
		default:
			return false
		}
	})
	if sc.TraceID() != traceID || !sc.IsRemote() {
		t.Errorf("consumer's span context %v, want trace %s from the event's headers", sc, traceID)
	}
}
