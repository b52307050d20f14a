// Command post-service serves posts (SPEC.md section 3) on :5000, from the
// PostgreSQL database at POSTGRES_DSN.
//
// Events (NATS_URL; without it they wait in the outbox): it publishes
// posts.created for each new post, and consumes accounts.deleted.
package main

import (
	"time"

	"github.com/caddysocial/platform/post-service/internal/api"
	"github.com/caddysocial/platform/post-service/internal/store"
	"github.com/caddysocial/platform/svckit/service"
)

func main() { service.Main("post-service", build) }

func build(s *service.Service) error {
	pool, err := s.Postgres(s.Env("POSTGRES_DSN", ""))
	if err != nil {
		return err
	}
	st := store.New(pool, 5*time.Second)
	s.Database(st)

	bus, err := s.EventBus(s.Env("NATS_URL", ""))
	if err != nil {
		return err
	}
	st.UseRelay(s.Relay(pool, bus))            // publishes posts.created
	s.Consume(pool, bus, st.AccountDeletion()) // consumes accounts.deleted

	(&api.API{Store: st, Log: s.Log}).Routes(s.Mux)
	return nil
}
