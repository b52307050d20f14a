package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
)

// untraced are the probe and scrape paths: a span per health check or
// scrape would drown the traces that matter.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Handler wraps a service's whole handler in a server span per request,
// continuing the caller's W3C trace context. The span is named after the
// ServeMux pattern that matched (e.g. "GET /profile/{userId}"), never the
// raw path, so span names stay bounded.
func Handler(next http.Handler, service string) http.Handler {
	return otelhttp.NewHandler(next, service,
		otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }),
		otelhttp.WithSpanNameFormatter(func(op string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}),
	)
}

// Transport wraps an HTTP client transport: a client span per attempt, and
// the traceparent header on the outgoing request.
func Transport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt)
}

// StartSpan starts a child of ctx's span with the tracer provider that made
// that span, not the global one: Caddy's tracing module keeps its provider
// to itself, so the gateway modules' spans (password hashing, auth-db
// queries) must come from the request span's provider to be exported with
// it. Without a span in ctx it starts a no-op span.
func StartSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(instrumentation).Start(ctx, name, opts...)
}

// instrumentation names this package as the instrumentation scope.
const instrumentation = "github.com/caddysocial/platform/svckit/telemetry"
