package logship

import "github.com/prometheus/client_golang/prometheus"

// collector exports a Shipper's counters.
type collector struct {
	source                          func() (Stats, bool)
	sent, dropped, failed, buffered *prometheus.Desc
}

// NewCollector returns the Prometheus collector of s's counters:
//
//	log_shipper_lines_sent_total, log_shipper_lines_dropped_total,
//	log_shipper_send_failures_total, log_shipper_buffered_bytes
//
// labels are constant labels (e.g. the gateway's writer name).
func NewCollector(s *Shipper, labels ...string) prometheus.Collector {
	return NewCollectorFunc(func() (Stats, bool) { return s.Stats(), true }, labels...)
}

// NewCollectorFunc is NewCollector for the counters source returns at each
// scrape (none while it returns false): Caddy's log writers come and go with
// its writer pool, and several may share the labels (their sum is exported).
func NewCollectorFunc(source func() (Stats, bool), labels ...string) prometheus.Collector {
	cl := prometheus.Labels{}
	for i := 0; i+1 < len(labels); i += 2 {
		cl[labels[i]] = labels[i+1]
	}
	return &collector{
		source:   source,
		sent:     prometheus.NewDesc("log_shipper_lines_sent_total", "Log lines accepted by VictoriaLogs.", nil, cl),
		dropped:  prometheus.NewDesc("log_shipper_lines_dropped_total", "Log lines dropped because the shipping buffer was full (store down or slow) or at shutdown.", nil, cl),
		failed:   prometheus.NewDesc("log_shipper_send_failures_total", "Batches VictoriaLogs did not accept (each is retried).", nil, cl),
		buffered: prometheus.NewDesc("log_shipper_buffered_bytes", "Bytes of log lines waiting to be sent.", nil, cl),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sent
	ch <- c.dropped
	ch <- c.failed
	ch <- c.buffered
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st, ok := c.source()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(st.Sent))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(st.Failures))
	ch <- prometheus.MustNewConstMetric(c.buffered, prometheus.GaugeValue, float64(st.Buffered))
}
