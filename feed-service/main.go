// Command feed-service serves GET /feed (SPEC.md section 3) on :5000: the
// newest posts of the caller's friends, from user-lb and post-lb.
//
// Environment: USER_LB_URL (http://user-lb:9001), POST_LB_URL
// (http://post-lb:9002), PORT (5000), FEED_DEADLINE (5s), FEED_FANOUT (32),
// NATS_URL (unset: no username cache, no live feed; see events.go).
//
// Events: it publishes none; every instance subscribes to profiles.updated
// and accounts.deleted (username cache, live feeds of deleted accounts), and
// each /feed/stream reads posts.created.
package main

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/caddysocial/platform/feed-service/internal/feed"
	"github.com/caddysocial/platform/feed-service/internal/upstream"
	"github.com/caddysocial/platform/svckit/events"
	"github.com/caddysocial/platform/svckit/service"
)

// Config is the service's settings.
type Config struct {
	UserLB, PostLB string
	Deadline       time.Duration
	Fanout         int
	Policy         upstream.Policy
	Bus            *events.Bus   // nil without NATS_URL
	Heartbeat      time.Duration // of the live feed; default 10s
}

func main() { service.Main("feed-service", build) }

// build reads the settings, connects to the event bus if NATS_URL is set,
// and wires the service.
func build(s *service.Service) error {
	cfg, err := configFromEnv(s.Env)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.Bus, err = s.EventBus(s.Env("NATS_URL", "")); err != nil {
		return err
	}
	return wire(s, cfg)
}

// configFromEnv reads the settings through env (key, default).
func configFromEnv(env func(key, def string) string) (Config, error) {
	cfg := Config{
		UserLB: env("USER_LB_URL", "http://user-lb:9001"),
		PostLB: env("POST_LB_URL", "http://post-lb:9002"),
		Policy: upstream.DefaultPolicy,
	}
	var err error
	if cfg.Deadline, err = time.ParseDuration(env("FEED_DEADLINE", "5s")); err != nil || cfg.Deadline <= 0 {
		return cfg, fmt.Errorf("FEED_DEADLINE: want a positive duration, got %q", env("FEED_DEADLINE", ""))
	}
	if cfg.Fanout, err = strconv.Atoi(env("FEED_FANOUT", "32")); err != nil || cfg.Fanout < 1 {
		return cfg, fmt.Errorf("FEED_FANOUT: want a positive integer, got %q", env("FEED_FANOUT", ""))
	}
	cfg.Policy.MaxConns = max(cfg.Policy.MaxConns, 2*cfg.Fanout)
	return cfg, nil
}

// wire adds the upstream clients, /feed, /feed/stream and the readiness
// check on the upstreams to s, with a client span per upstream call.
func wire(s *service.Service, cfg Config) error {
	reg, log := s.Registry, s.Log
	um := upstream.NewMetrics(reg)
	users := upstream.New("user-lb", cfg.UserLB, cfg.Policy, um)
	posts := upstream.New("post-lb", cfg.PostLB, cfg.Policy, um)

	lookup := &feed.ProfileLookup{Users: users, Fanout: cfg.Fanout}
	// Consumes profiles.updated and accounts.deleted, reads posts.created
	// (events.go).
	names, stream := liveFeed(cfg.Bus, cmp.Or(cfg.Heartbeat, 10*time.Second), users, lookup, reg, log)
	stream.Metrics = feed.NewStreamMetrics(reg)

	stream.Routes(s.Mux)
	(&feed.Handler{
		Builder:  &feed.Builder{Users: users, Posts: posts, Fanout: cfg.Fanout, Names: names},
		Deadline: cfg.Deadline,
		Log:      log,
		Partial:  feed.NewPartialCounter(reg),
	}).Routes(s.Mux)
	s.ReadyWhen("upstreams", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		for _, u := range []*upstream.Client{users, posts} {
			if err := u.Ping(ctx, "/healthz"); err != nil {
				return err
			}
		}
		return nil
	})
	return nil
}
