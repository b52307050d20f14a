package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports a pgx pool's statistics (pgxpool.Stat) as
// Prometheus metrics, read at scrape time: nothing is added to a request's
// path. The wait a request spends for a connection is
//
//	rate(pgxpool_empty_acquire_wait_seconds_total[1m]) / rate(pgxpool_acquires_total[1m])
//
// (mean wait per acquire), and the share of acquires that found no idle
// connection is rate(pgxpool_empty_acquires_total) / rate(pgxpool_acquires_total).
// Hand-written: no maintained pgxpool collector is available to this build,
// and it is a table of pgxpool.Stat's fields.
type PoolCollector struct {
	pool  *pgxpool.Pool
	descs []poolMetric
}

type poolMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*pgxpool.Stat) float64
}

// NewPoolCollector returns a collector of pool's statistics; db names the
// database (label "db") so that one registry can hold several pools.
func NewPoolCollector(pool *pgxpool.Pool, db string) *PoolCollector {
	labels := prometheus.Labels{"db": db}
	m := func(name, help string, kind prometheus.ValueType, value func(*pgxpool.Stat) float64) poolMetric {
		return poolMetric{prometheus.NewDesc("pgxpool_"+name, help, nil, labels), kind, value}
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	return &PoolCollector{pool: pool, descs: []poolMetric{
		m("acquires_total", "Successful connection acquires from the pool.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }),
		m("acquire_seconds_total", "Total time of successful acquires, the fast ones included.", counter,
			func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }),
		m("empty_acquires_total", "Successful acquires that found no idle connection and waited for one to be released or made.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }),
		m("empty_acquire_wait_seconds_total", "Total time acquires waited because the pool had no idle connection.", counter,
			func(s *pgxpool.Stat) float64 { return s.EmptyAcquireWaitTime().Seconds() }),
		m("canceled_acquires_total", "Acquires whose context ended before a connection came free.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }),
		m("new_conns_total", "Connections opened.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }),
		m("max_lifetime_destroys_total", "Connections closed for reaching their maximum lifetime.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.MaxLifetimeDestroyCount()) }),
		m("max_idle_destroys_total", "Connections closed for being idle too long.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.MaxIdleDestroyCount()) }),
		m("acquired_conns", "Connections in use now.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }),
		m("idle_conns", "Idle connections now.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }),
		m("constructing_conns", "Connections being opened now.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) }),
		m("total_conns", "Open connections now (acquired, idle and being opened).", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }),
		m("max_conns", "The pool's size (POSTGRES_MAX_CONNS).", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }),
	}}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.descs {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	for _, m := range c.descs {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(s))
	}
}

var _ prometheus.Collector = (*PoolCollector)(nil)
