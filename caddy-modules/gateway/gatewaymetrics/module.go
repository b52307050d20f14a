// Package gatewaymetrics is the http.handlers.caddysocial_gateway_metrics Caddy handler:
// it counts and times the requests of one route under that route's template.
//
//	gateway_requests_total{method, endpoint, code}
//	gateway_request_latency_seconds{method, endpoint}
//
// The endpoint label is the template written in the Caddyfile next to the
// route (e.g. /api/profile/{userId}), never the request path, so no user id
// reaches a label and cardinality is bounded by the routing table; method is
// folded to the standard methods and "OTHER".
//
// With Caddy's tracing handler in front (the Caddyfile's `tracing`), each
// latency observation of a sampled request carries its trace id as an
// exemplar ({trace_id="..."}; Prometheus scrapes them from the OpenMetrics
// format the metrics handler negotiates), the request's access log line gets
// trace_id and span_id, and the gateway's span is named after the route
// template ("GET /api/feed") instead of a raw path.
package gatewaymetrics

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddysocial/platform/caddy-modules/internal/promreg"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// The collectors are process-wide and created once: Caddy gives each config
// load a fresh registry, and registering the same collectors into it keeps
// the counters running across reloads.
var collectors struct {
	once     sync.Once
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func initCollectors() {
	collectors.once.Do(func() {
		collectors.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total",
			Help: "Requests handled by the gateway, by method, route template and status code.",
		}, []string{"method", "endpoint", "code"})
		collectors.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_latency_seconds",
			Help:    "Time from the gateway receiving a request to its handler returning, by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "endpoint"})
	})
}

// Handler records the metrics of the requests that reach it.
type Handler struct {
	// The endpoint label: the route template, or "unmatched".
	Endpoint string `json:"endpoint"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.caddysocial_gateway_metrics", New: func() caddy.Module { return new(Handler) }}
}

// Provision registers the collectors into this config's metrics registry.
func (h *Handler) Provision(ctx caddy.Context) error {
	initCollectors()
	if err := promreg.Register(ctx.GetMetricsRegistry(), collectors.requests, collectors.latency); err != nil {
		return fmt.Errorf("caddysocial_gateway_metrics: %w", err)
	}
	return nil
}

// Validate requires an endpoint label.
func (h *Handler) Validate() error {
	if h.Endpoint == "" {
		return errors.New("caddysocial_gateway_metrics: endpoint is required")
	}
	return nil
}

// endpointVar is the request variable naming the route's template, for the
// handlers further down the route that label metrics (caddysocial_rate_limit).
const endpointVar = "gateway_endpoint"

// EndpointOf is the endpoint label of the route r is on, "unmatched" if no
// caddysocial_gateway_metrics handler has seen r.
func EndpointOf(r *http.Request) string {
	if e, ok := caddyhttp.GetVar(r.Context(), endpointVar).(string); ok {
		return e
	}
	return "unmatched"
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	start := time.Now()
	caddyhttp.SetVar(r.Context(), endpointVar, h.Endpoint)
	rec := caddyhttp.NewResponseRecorder(w, nil, nil)
	err := next.ServeHTTP(rec, r)
	code := rec.Status()
	if err != nil {
		// The error handler has not answered yet; it will use this status.
		code = http.StatusInternalServerError
		if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok && he.StatusCode != 0 {
			code = he.StatusCode
		}
	} else if code == 0 {
		code = http.StatusOK
	}
	method := sanitizeMethod(r.Method)
	elapsed := time.Since(start).Seconds()
	observer := collectors.latency.WithLabelValues(method, h.Endpoint)
	sc := trace.SpanContextFromContext(r.Context())
	if sc.IsValid() {
		// Unsampled requests too: their log lines still join the services'.
		annotate(r, sc, method+" "+h.Endpoint)
	}
	if sc.IsSampled() {
		// Only a sampled trace exists in Jaeger for the exemplar to point at.
		observer.(prometheus.ExemplarObserver).ObserveWithExemplar(elapsed, prometheus.Labels{"trace_id": sc.TraceID().String()})
	} else {
		observer.Observe(elapsed)
	}
	collectors.requests.WithLabelValues(method, h.Endpoint, strconv.Itoa(code)).Inc()
	return err
}

// annotate names the request's span after its route and puts the trace
// and span ids into the request's access log line under the names the
// services' logs use (Caddy's own fields are traceID and spanID).
func annotate(r *http.Request, sc trace.SpanContext, route string) {
	span := trace.SpanFromContext(r.Context())
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route[strings.IndexByte(route, ' ')+1:]))
	if extra, ok := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Set(zap.String("trace_id", sc.TraceID().String()))
		extra.Set(zap.String("span_id", sc.SpanID().String()))
	}
}

// sanitizeMethod bounds the method label to the standard methods.
func sanitizeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
