package telemetry

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
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
