package l4lb

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the balancer's Prometheus collectors, labelled by balancer
// name and backend address (both from configuration, so bounded).
type Metrics struct {
	Connections  *prometheus.CounterVec
	Active       *prometheus.GaugeVec
	Up           *prometheus.GaugeVec
	Bytes        *prometheus.CounterVec
	DialFailures *prometheus.CounterVec
	DNSFailures  *prometheus.CounterVec
}

// NewMetrics creates the collectors (register them once per registry).
func NewMetrics() *Metrics {
	labels := []string{"lb", "backend"}
	return &Metrics{
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "l4lb_connections_total", Help: "Client connections forwarded to each backend.",
		}, labels),
		Active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "l4lb_connections_active", Help: "Connections being forwarded to each backend now.",
		}, labels),
		Up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "l4lb_backend_up", Help: "1 if the backend is in the pool, 0 if health checks or a dial took it out.",
		}, labels),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "l4lb_bytes_total",
			Help: "Bytes forwarded, by direction (client_to_backend, backend_to_client); counted when a connection ends.",
		}, []string{"lb", "backend", "direction"}),
		DialFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "l4lb_dial_failures_total", Help: "Failed connection attempts to each backend.",
		}, labels),
		DNSFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "l4lb_dns_lookup_failures_total",
			Help: "Failed lookups of each dns_backends name (its previous addresses stay in use).",
		}, []string{"lb", "name"}),
	}
}

// Collectors lists every collector, for registration.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Connections, m.Active, m.Up, m.Bytes, m.DialFailures, m.DNSFailures}
}

// Forget deletes the series of a backend that left the configuration.
func (m *Metrics) Forget(lb, backend string) {
	for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.Connections, m.Active, m.Up, m.DialFailures} {
		v.DeleteLabelValues(lb, backend)
	}
	m.Bytes.DeleteLabelValues(lb, backend, "client_to_backend")
	m.Bytes.DeleteLabelValues(lb, backend, "backend_to_client")
}
