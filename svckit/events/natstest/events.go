package natstest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/caddysocial/platform/svckit/events"
)

// Bus connects to the server as a service does, until the test ends.
func (s *Server) Bus(t testing.TB) *events.Bus {
	t.Helper()
	bus, err := events.Connect(s.URL(), "natstest", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	return bus
}

// Publish sends e to JetStream as a relay would, msgID as Nats-Msg-Id (the
// same e under another msgID is a duplicate delivery).
func Publish(t testing.TB, bus *events.Bus, e events.Envelope, msgID string) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := bus.JS.PublishMsg(ctx, &nats.Msg{Subject: e.Type, Data: data}, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

// Next returns the next envelope c (from Reader) delivers.
func Next(t testing.TB, c jetstream.Consumer) events.Envelope {
	t.Helper()
	msg, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	e, err := events.Decode(msg.Data())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Reader reads subject from the start of the EVENTS stream.
func Reader(t testing.TB, bus *events.Bus, subject string) jetstream.Consumer {
	t.Helper()
	c, err := bus.JS.OrderedConsumer(context.Background(), events.EventsStream,
		jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
