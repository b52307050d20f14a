// Package telemetry sets up OpenTelemetry tracing for the platform's Go
// services from the standard OTEL_* environment variables, and provides the
// instrumentation the services share: an HTTP server middleware, an HTTP
// client transport and a pgx v5 query tracer.
//
// Decisions (SPEC.md section 8):
//   - Export is OTLP over HTTP (otlptracehttp reads OTEL_EXPORTER_OTLP_ENDPOINT,
//     _TRACES_ENDPOINT, _HEADERS, _TIMEOUT itself). Tracing is off, with no
//     exporter and no goroutine, when neither endpoint variable is set, when
//     OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: services then run
//     unchanged (plain `go test`, a laptop without Jaeger).
//   - Sampling is whatever OTEL_TRACES_SAMPLER(_ARG) say (the SDK reads them);
//     compose sets parentbased_traceidratio with ratio ${TRACE_SAMPLE_RATIO:-1}.
//     Parent-based: the gateway decides once per request, every hop follows.
//   - Spans leave through the SDK's batch span processor: a bounded queue
//     (2048 spans) that drops when full instead of blocking a request, and an
//     export timeout, so a slow or stopped Jaeger never slows the service.
//   - The global propagator is W3C tracecontext + baggage whether tracing is
//     on or not, so a service that does not sample still passes the caller's
//     traceparent on (HTTP upstreams, NATS headers).
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/caddysocial/platform/svckit/logship"
)

// Propagator is the platform's context propagation: W3C trace context and baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Enabled reports whether the environment asks for trace export.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs the global propagator and, if Enabled, a global tracer
// provider exporting to OTLP/HTTP. service is the service.name unless
// OTEL_SERVICE_NAME says otherwise. The returned shutdown flushes the spans
// still queued; call it after the server has drained.
func Setup(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(Propagator())
	if !Enabled(os.Getenv) {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the built-in name.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Runtime is what a service's main gets from Start.
type Runtime struct {
	// Log is the service's logger (logship.Setup: JSON, trace ids,
	// shipped to VictoriaLogs when VICTORIA_LOGS_URL is set).
	Log *slog.Logger
	// Collectors export the log shipper's counters, for the service's registry.
	Collectors []prometheus.Collector
	shutdown   []func(context.Context) error
}

// Start sets up a service's logging, tracing and profiling from the
// environment (VICTORIA_LOGS_URL, the OTEL_* variables and DEBUG_ADDR, see
// StartDebug; each feature is off when its variable is empty).
func Start(ctx context.Context, service string) (*Runtime, error) {
	lg, err := logship.Setup(os.Stdout, os.Getenv("VICTORIA_LOGS_URL"), service)
	if err != nil {
		return nil, fmt.Errorf("VICTORIA_LOGS_URL: %w", err)
	}
	stopTracing, err := Setup(ctx, service)
	if err != nil {
		lg.Close(ctx)
		return nil, err
	}
	stopDebug, err := StartDebug(os.Getenv("DEBUG_ADDR"), lg.Log)
	if err != nil {
		_ = stopTracing(ctx)
		lg.Close(ctx)
		return nil, fmt.Errorf("DEBUG_ADDR: %w", err)
	}
	return &Runtime{Log: lg.Log, Collectors: lg.Collectors, shutdown: []func(context.Context) error{stopDebug, stopTracing, lg.Close}}, nil
}

// Shutdown flushes the queued spans, then the queued log lines, each within
// timeout (after the server has drained: its last requests are included).
func (rt *Runtime) Shutdown(timeout time.Duration) {
	for _, f := range rt.shutdown {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if err := f(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "telemetry shutdown:", err)
		}
		cancel()
	}
}
