package logship

import (
	"context"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// TraceHandler adds trace_id and span_id of the context's span to every
// record logged with a context (slog's ...Context methods), so that a log
// line is found from its trace and the other way round.
type TraceHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return TraceHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h TraceHandler) WithGroup(name string) slog.Handler {
	return TraceHandler{h.Handler.WithGroup(name)}
}

// Logging is a service's logger and what goes with it.
type Logging struct {
	Log *slog.Logger
	// Collectors export the shipper's counters (none without a shipper).
	Collectors []prometheus.Collector
	// Close flushes the shipper (a no-op without one).
	Close func(context.Context) error
}

// Setup builds a service's logger: JSON lines with trace ids and a
// "service" field. Without a VictoriaLogs URL everything goes to stdout
// (docker's log). With one, every record is shipped and only warnings and
// errors are also written to stdout: `docker compose logs` still shows what
// needs attention, while request logs bypass dockerd (docs/BENCHMARKS.md
// "Logs").
func Setup(stdout io.Writer, vlogsURL, service string) (Logging, error) {
	if vlogsURL == "" {
		return Logging{
			Log:   slog.New(TraceHandler{slog.NewJSONHandler(stdout, nil)}).With("service", service),
			Close: func(context.Context) error { return nil },
		}, nil
	}
	s, err := New(Config{URL: vlogsURL})
	if err != nil {
		return Logging{}, err
	}
	h := slog.NewMultiHandler(
		slog.NewJSONHandler(s, nil),
		slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}),
	)
	return Logging{
		Log:        slog.New(TraceHandler{h}).With("service", service),
		Collectors: []prometheus.Collector{NewCollector(s)},
		Close:      s.Close,
	}, nil
}
