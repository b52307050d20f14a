package main

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/feed-service/internal/feed"
	"github.com/caddysocial/platform/feed-service/internal/upstream"
	"github.com/caddysocial/platform/svckit/events"
)

// Username cache bounds: 10k names of at most 64 characters is well under
// 2 MB; the TTL is only a backstop behind profiles.updated.
const (
	usernameCacheSize = 10000
	usernameCacheTTL  = 10 * time.Minute
)

// liveFeed wires what needs the event bus: the username cache in front of
// lookup and its invalidation, and the live feed. It returns the usernames
// feeds use. Without a bus there is no cache (lookup itself is returned) and
// the live feed answers 501 (clients poll /feed).
func liveFeed(bus *events.Bus, heartbeat time.Duration, users *upstream.Client, lookup feed.Usernames, reg prometheus.Registerer, log *slog.Logger) (feed.Usernames, *feed.Stream) {
	if bus == nil {
		return lookup, &feed.Stream{Log: log}
	}
	names := feed.NewUsernameCache(lookup, usernameCacheSize, usernameCacheTTL, bus.Conn.IsConnected)
	names.Lookups = feed.NewUsernameCacheLookups(reg)
	stream := &feed.Stream{Bus: bus, Users: users, Names: names, Heartbeat: heartbeat, Log: log}
	// Plain subscriptions, not durable consumers: every instance must see
	// every invalidation, and one missed while disconnected is covered by
	// purging on reconnect (and not caching while disconnected).
	bus.OnReconnect(names.Purge)
	subscribe := func(subject string, handle func(events.Envelope)) {
		_, err := bus.Conn.Subscribe(subject, func(m *nats.Msg) {
			if e, err := events.Decode(m.Data); err == nil {
				handle(e)
			}
		})
		if err != nil {
			log.Error("subscribe", "subject", subject, "error", err.Error())
		}
	}
	subscribe(events.ProfileUpdated, func(e events.Envelope) {
		var d events.ProfileUpdatedData
		if e.DataAs(&d) == nil {
			names.Invalidate(d.UUID)
		}
	})
	subscribe(events.AccountDeleted, func(e events.Envelope) {
		if id, err := events.DeletedUser(e); err == nil {
			names.Invalidate(id)
			stream.CloseUser(id)
		}
	})
	return names, stream
}
