// Package upstream is feed-service's client for one upstream (user-lb or
// post-lb): failsafe-go policies around every call (retry with backoff and
// jitter for these idempotent GETs, a circuit breaker, a per-attempt
// timeout), a keep-alive pool sized for the fan-out, and metrics.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/failsafe-go/failsafe-go/timeout"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/svckit/telemetry"
)

// ErrOpen is returned while the upstream's circuit breaker is open.
var ErrOpen = circuitbreaker.ErrOpen

// StatusError is an answer with a status the caller did not expect.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return "upstream answered " + strconv.Itoa(e.Status) }

// Policy configures the resilience of one upstream.
type Policy struct {
	AttemptTimeout   time.Duration // each try
	MaxRetries       int           // after the first try
	BackoffMin       time.Duration // first retry delay, doubled each time
	BackoffMax       time.Duration
	BreakerFailures  uint          // consecutive failures that open the breaker
	BreakerDelay     time.Duration // open -> half-open
	BreakerSuccesses uint          // successes in half-open that close it
	MaxConns         int           // keep-alive connections to the upstream
}

// DefaultPolicy suits a LAN upstream answering in milliseconds.
var DefaultPolicy = Policy{
	AttemptTimeout: 2 * time.Second, MaxRetries: 2, BackoffMin: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
	BreakerFailures: 5, BreakerDelay: 5 * time.Second, BreakerSuccesses: 2, MaxConns: 64,
}

// Metrics are shared by all upstreams.
type Metrics struct {
	latency *prometheus.HistogramVec
	breaker *prometheus.GaugeVec
}

// NewMetrics registers the upstream collectors into reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "feed_upstream_request_duration_seconds",
			Help:    "Latency of each attempt to call an upstream, by upstream, route and outcome (status code or error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"upstream", "route", "outcome"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feed_upstream_circuit_breaker_state",
			Help: "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
		}, []string{"upstream"}),
	}
	reg.MustRegister(m.latency, m.breaker)
	return m
}

// Client calls one upstream.
type Client struct {
	name    string
	base    string
	http    *http.Client
	breaker circuitbreaker.CircuitBreaker[*http.Response]
}

// New returns a client of the upstream at base (e.g. http://user-lb:9001).
func New(name, base string, p Policy, m *Metrics) *Client {
	breaker := circuitbreaker.NewBuilder[*http.Response]().
		HandleIf(func(res *http.Response, err error) bool { return err != nil || res.StatusCode >= 500 }).
		WithFailureThreshold(p.BreakerFailures).
		WithDelay(p.BreakerDelay).
		WithSuccessThreshold(p.BreakerSuccesses).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			m.breaker.WithLabelValues(name).Set(stateValue(e.NewState))
		}).
		Build()
	m.breaker.WithLabelValues(name).Set(0)
	retry := failsafehttp.NewRetryPolicyBuilder().
		WithMaxRetries(p.MaxRetries).
		WithBackoff(p.BackoffMin, p.BackoffMax).
		WithJitterFactor(0.25).
		AbortOnErrors(context.Canceled, context.DeadlineExceeded, circuitbreaker.ErrOpen).
		ReturnLastFailure().
		Build()
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: p.AttemptTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          p.MaxConns,
		MaxIdleConnsPerHost:   p.MaxConns,
		MaxConnsPerHost:       p.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: p.AttemptTimeout,
	}
	// Outermost first: retries wrap the breaker, which wraps each attempt's timeout.
	// Each attempt is a client span carrying the traceparent.
	rt := failsafehttp.NewRoundTripper(&measured{inner: telemetry.Transport(transport), name: name, m: m}, retry, breaker,
		timeout.New[*http.Response](p.AttemptTimeout))
	// Redirects are not followed: no upstream call expects one, and a batch
	// call redirected by a server without the route is "not supported".
	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{name: name, base: base, http: &http.Client{Transport: rt, CheckRedirect: noRedirects}, breaker: breaker}
}

func stateValue(s circuitbreaker.State) float64 {
	switch s {
	case circuitbreaker.HalfOpenState:
		return 1
	case circuitbreaker.OpenState:
		return 2
	}
	return 0
}

// BreakerOpen reports whether calls currently fail fast.
func (c *Client) BreakerOpen() bool { return c.breaker.IsOpen() }

// MaxBody bounds what is read from an upstream answer.
const MaxBody = 8 << 20

// GetJSON GETs path (route is its template, for metrics) as user and decodes
// the JSON answer into dst, whatever its Content-Type (the original services
// send text/plain). notFound, if non-nil, is returned for a 404.
func (c *Client) GetJSON(ctx context.Context, path, route, user string, dst any, notFound error) error {
	req, err := http.NewRequestWithContext(withRoute(ctx, route), http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.name, route, err)
	}
	req.Header.Set("X-User-ID", user)
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.name, route, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound && notFound != nil {
		return notFound
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %w", c.name, route, &StatusError{res.StatusCode})
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBody))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", c.name, route, err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("%s %s: decode: %w", c.name, route, err)
	}
	return nil
}

// Ping GETs path without user or policies (readiness).
func (c *Client) Ping(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &StatusError{res.StatusCode}
	}
	return nil
}

type routeKey struct{}

func withRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, routeKey{}, route)
}

// measured times every attempt, below the policies.
type measured struct {
	inner http.RoundTripper
	name  string
	m     *Metrics
}

func (t *measured) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.inner.RoundTrip(req)
	outcome := "error"
	switch {
	case err == nil:
		outcome = strconv.Itoa(res.StatusCode)
	case errors.Is(err, context.DeadlineExceeded):
		outcome = "timeout"
	case errors.Is(err, context.Canceled):
		outcome = "canceled"
	}
	route, _ := req.Context().Value(routeKey{}).(string)
	t.m.latency.WithLabelValues(t.name, route, outcome).Observe(time.Since(start).Seconds())
	return res, err
}
