package events

import "github.com/prometheus/client_golang/prometheus"

// RelayMetrics are the outbox relay's collectors. The alert on a stuck
// outbox (prometheus/rules.yml) uses outbox_oldest_unsent_age_seconds.
type RelayMetrics struct {
	Backlog   prometheus.Gauge
	OldestAge prometheus.Gauge
	Published prometheus.Counter
	Failures  prometheus.Counter
}

// NewRelayMetrics creates the relay's collectors and registers them in reg
// (nil: not registered, for tests).
func NewRelayMetrics(reg prometheus.Registerer) *RelayMetrics {
	m := &RelayMetrics{
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outbox_backlog", Help: "Events in the outbox not yet published to JetStream.",
		}),
		OldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outbox_oldest_unsent_age_seconds", Help: "Age of the oldest unpublished outbox event (0 when empty).",
		}),
		Published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outbox_published_total", Help: "Outbox events published and acknowledged by JetStream.",
		}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outbox_publish_failures_total", Help: "Failed attempts to publish an outbox event (it stays and is retried).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Collectors()...)
	}
	return m
}

// ConsumerMetrics are the collectors of every durable consumer of a process,
// labelled by consumer name.
type ConsumerMetrics struct {
	Processed    *prometheus.CounterVec
	Duplicates   *prometheus.CounterVec
	Failures     *prometheus.CounterVec
	DeadLettered *prometheus.CounterVec
	Pending      *prometheus.GaugeVec
}

// NewConsumerMetrics creates and registers (unless reg is nil) the consumer
// collectors.
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	l := []string{"consumer"}
	m := &ConsumerMetrics{
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_consumer_processed_total", Help: "Events applied and acknowledged.",
		}, l),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_consumer_duplicates_total", Help: "Events delivered again after they were applied (acknowledged, no effect).",
		}, l),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_consumer_failures_total", Help: "Failed attempts to apply an event (redelivered later).",
		}, l),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_consumer_dead_lettered_total", Help: "Events given up on and published to the dead-letter subject.",
		}, l),
		Pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "events_consumer_pending", Help: "Events not yet delivered or not yet acknowledged (consumer lag).",
		}, l),
	}
	if reg != nil {
		reg.MustRegister(m.Processed, m.Duplicates, m.Failures, m.DeadLettered, m.Pending)
	}
	return m
}

// start creates consumer's counters at 0: before its first dead letter a
// dashboard reads "0 dead-lettered", not "no data" (and an alert on a rate
// of them has a series to work on).
func (m *ConsumerMetrics) start(consumer string) {
	for _, c := range []*prometheus.CounterVec{m.Processed, m.Duplicates, m.Failures, m.DeadLettered} {
		c.WithLabelValues(consumer)
	}
}

// Collectors lists the relay's collectors, to register them elsewhere (a
// Caddy config's registry).
func (m *RelayMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Backlog, m.OldestAge, m.Published, m.Failures}
}
