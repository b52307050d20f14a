package pgstore

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MaxConnsEnv names the environment variable that sets the size of a
// service's connection pool (service.Postgres reads it). The DSN's own pgx parameter
// pool_max_conns, when present, wins over it.
const MaxConnsEnv = "POSTGRES_MAX_CONNS"

// Bounds of the default pool size (DefaultMaxConns).
const (
	connsPerCPU = 4
	minConns    = 8
	maxConns    = 16
)

// DefaultMaxConns is the pool size when neither the DSN (pool_max_conns)
// nor POSTGRES_MAX_CONNS sets one: 4 connections per CPU the process may use
// (GOMAXPROCS, which follows the container's CPU limit but is at least 2),
// at least 8 and at most 16.
//
// Why (docs/BENCHMARKS.md, "Service hot path"): a request holds its
// connection for its round trips to the database (a write: 4-5 and a WAL
// flush) plus the time its goroutine waits to be scheduled to read each
// answer, so a service needs several statements in flight per CPU. pgx's own
// default, max(4, CPUs), gave a two-CPU service 4 connections: at 32
// concurrent requests the block profile showed them queued in
// pgxpool.Acquire while the CPU idled, and writes ran 1.05-1.45x faster
// with 8 (reads were bound by the CPU either way).
// The bounds are the database's side: every connection is a PostgreSQL
// backend process, more active backends than the server has cores only
// queue inside the server, and every instance of every service sharing the
// server (each with its outbox relay and consumers on the same pool) counts
// against max_connections, 100 by default with 3 reserved for superusers.
// With 8 per instance, compose's two instances hold 16 and the k8s HPAs'
// maximum of 10 pods 80. Scale out past that only after raising
// max_connections or lowering POSTGRES_MAX_CONNS.
func DefaultMaxConns() int32 {
	return int32(min(max(connsPerCPU*runtime.GOMAXPROCS(0), minConns), maxConns))
}

// ParseConfig parses a PostgreSQL DSN into a pool configuration whose size
// is, in order: the DSN's pool_max_conns, maxConnsSetting (the value of
// POSTGRES_MAX_CONNS; empty means unset), DefaultMaxConns. Every other pool
// parameter of pgx's DSN syntax (pool_min_conns, pool_max_conn_lifetime, ...)
// works as pgx documents it.
func ParseConfig(dsn, maxConnsSetting string) (*pgxpool.Config, error) {
	// pgx.ParseConfig leaves pool_* parameters in RuntimeParams;
	// pgxpool.ParseConfig consumes them, so ask first.
	conn, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("POSTGRES_DSN is not a valid PostgreSQL connection string")
	}
	_, inDSN := conn.RuntimeParams["pool_max_conns"]
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN, password included: say only which.
		return nil, fmt.Errorf("POSTGRES_DSN: invalid pool parameter (pool_max_conns, pool_min_conns, ...)")
	}
	if inDSN {
		return cfg, nil
	}
	cfg.MaxConns = DefaultMaxConns()
	if maxConnsSetting != "" {
		n, err := strconv.ParseInt(maxConnsSetting, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: want a whole number of connections, at least 1", MaxConnsEnv, maxConnsSetting)
		}
		cfg.MaxConns = int32(n)
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	return cfg, nil
}
