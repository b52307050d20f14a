// Package svckit is the plumbing the platform's Go services share, one copy
// for all of them: httpx (JSON in and out, X-User-ID, routing with JSON
// 404/405, metrics, access logs, graceful shutdown), pgstore (the
// lazy-migrating PostgreSQL store, the classification of its errors, the
// connection pool's size, POSTGRES_MAX_CONNS, and its pgxpool_* metrics),
// service (every service's main function: probes, metrics, signals,
// goroutines and shutdown, with PostgreSQL and the event bus as options),
// events (the outbox, relay and consumers on NATS JetStream), telemetry
// (tracing, log shipping, and Go's profiles on DEBUG_ADDR), and, for
// tests, pgtest (a throwaway database per test) and apitest (calling an API
// and checking the platform's response rules).
//
// Each service requires this module through a replace directive to ../svckit
// and its image is built from the repository root, so that what is tested
// (GOWORK=off, see the Makefile) is what ships.
//
// This root package is empty on purpose: it gives the module an importable
// root, which `xcaddy build --with MODULE@version=DIR` (used to bake the
// module for offline image builds) requires.
package svckit
