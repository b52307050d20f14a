package gatewaymetrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("caddysocial_gateway_metrics endpoint /api/profile/{userId}")); err != nil {
		t.Fatal(err)
	}
	if h.Endpoint != "/api/profile/{userId}" {
		t.Errorf("endpoint = %q", h.Endpoint)
	}
	for _, bad := range []string{
		"caddysocial_gateway_metrics",
		"caddysocial_gateway_metrics /api/feed",
		"caddysocial_gateway_metrics endpoint",
		"caddysocial_gateway_metrics label /x",
		"caddysocial_gateway_metrics endpoint /x extra",
	} {
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad))
		if err == nil || !strings.Contains(err.Error(), "usage: caddysocial_gateway_metrics endpoint <label>") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if err := new(Handler).Validate(); err == nil {
		t.Error("Validate accepted an empty endpoint")
	}
}

// A provisioned handler registers its collectors into the config's
// registry, tells later handlers the route's template, and counts each
// request under the template, the folded method and the final status,
// including a status that a later handler returns as an error.
func TestServeHTTP(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	// A template no other test uses: the collectors are process-wide.
	h := &Handler{Endpoint: "/unit/{id}"}
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	// A second provisioning (a reload) shares the collectors.
	if err := new(Handler).Provision(ctx); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	serve := func(method string, next caddyhttp.HandlerFunc) error {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, "/unit/42", nil)
		r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
		return h.ServeHTTP(w, r, next)
	}
	var seen string
	created := func(w http.ResponseWriter, r *http.Request) error {
		seen = EndpointOf(r)
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	for range 2 {
		if err := serve(http.MethodPost, created); err != nil {
			t.Fatal(err)
		}
	}
	if seen != "/unit/{id}" {
		t.Errorf("EndpointOf in a later handler = %q", seen)
	}
	teapot := caddyhttp.Error(http.StatusTeapot, nil)
	if err := serve("BREW", func(http.ResponseWriter, *http.Request) error { return teapot }); err != teapot {
		t.Errorf("the later handler's error was not passed on: %v", err)
	}
	if err := serve(http.MethodGet, func(http.ResponseWriter, *http.Request) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, code string
		want         float64
	}{{"POST", "201", 2}, {"OTHER", "418", 1}, {"GET", "200", 1}} {
		if got := testutil.ToFloat64(collectors.requests.WithLabelValues(c.method, h.Endpoint, c.code)); got != c.want {
			t.Errorf("requests{%s, %s} = %v, want %v", c.method, c.code, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(collectors.latency, "gateway_request_latency_seconds"); n < 3 {
		t.Errorf("latency series = %d, want at least 3", n)
	}
	families, err := ctx.GetMetricsRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	if !names["gateway_requests_total"] || !names["gateway_request_latency_seconds"] {
		t.Errorf("config registry has %v, want the gateway's collectors", names)
	}
	if r := httptest.NewRequest(http.MethodGet, "/", nil); EndpointOf(r) != "unmatched" {
		t.Errorf("EndpointOf without the handler = %q", EndpointOf(r))
	}
}
