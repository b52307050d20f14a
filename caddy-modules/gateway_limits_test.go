package caddymodules_test

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
)

// The repository's Caddyfile limits each user on authenticated routes and
// each address on /api/auth/*, with the RateLimit headers on every answer.
// The limits come from the environment, here small enough to count exactly;
// the defaults are checked end to end (tests/e2e).
func TestGatewayRateLimits(t *testing.T) {
	t.Setenv("USER_RATE_LIMIT", "5/1h")
	t.Setenv("USER_RATE_BURST", "5")
	t.Setenv("AUTH_RATE_LIMIT", "3/1h")
	t.Setenv("AUTH_RATE_BURST", "3")
	g := startGateway(t)
	before := scrape(t, g.metrics)
	token, _ := g.login(t, "limits@example.com") // register and login: 2 of 3

	// A token comes back every 1200 s; hashing took a few of them.
	r := g.do(t, "POST", "/api/auth/login", "", "{")
	if r.status != 400 || r.header.Get("RateLimit-Policy") != `"auth";q=3;w=3600` || !regexp.MustCompile(`^"auth";r=0;t=1(1[0-9]{2}|200)$`).MatchString(r.header.Get("RateLimit")) {
		t.Fatalf("login: %d, RateLimit-Policy %q, RateLimit %q", r.status, r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"))
	}
	r = g.do(t, "POST", "/api/auth/register", "", "{")
	want429(t, r, 1200)

	var mu sync.Mutex
	codes := map[int]int{}
	var ok, limited result
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r := g.do(t, "GET", "/api/posts/me", token, "")
			mu.Lock()
			defer mu.Unlock()
			codes[r.status]++
			if r.status == 429 {
				limited = r
			} else {
				ok = r
			}
		})
	}
	wg.Wait()
	if codes[200] != 5 || codes[429] != 15 {
		t.Fatalf("20 parallel requests of one user against 5/1h: %v", codes)
	}
	if ok.header.Get("RateLimit-Policy") != `"user";q=5;w=3600` {
		t.Errorf("RateLimit-Policy %q", ok.header.Get("RateLimit-Policy"))
	}
	want429(t, limited, 720)
	after := scrape(t, g.metrics)
	for series, want := range map[string]float64{
		`gateway_rate_limited_total{endpoint="/api/posts/me"}`:      15,
		`gateway_rate_limited_total{endpoint="/api/auth/register"}`: 1,
	} {
		if d := after[series] - before[series]; d != want {
			t.Errorf("%s rose by %v, want %v", series, d, want)
		}
	}
}

// With Valkey down the gateway starts and serves: each instance's own
// limiter decides (fail open to local, never 500), and every such decision
// is counted.
func TestGatewayRateLimitsValkeyDown(t *testing.T) {
	t.Setenv("AUTH_RATE_LIMIT", "3/1h")
	t.Setenv("AUTH_RATE_BURST", "3")
	g := startGatewayEnv(t, map[string]string{"VALKEY_ADDR": "127.0.0.1:" + strconv.Itoa(caddyrun.FreePort(t))})
	before := scrape(t, g.metrics)
	g.login(t, "valkey-down@example.com") // register and login: 2 of 3
	if r := g.do(t, "POST", "/api/auth/login", "", "{"); r.status != 400 || !strings.HasPrefix(r.header.Get("RateLimit"), `"auth";r=0;`) {
		t.Fatalf("login: %d, RateLimit %q", r.status, r.header.Get("RateLimit"))
	}
	want429(t, g.do(t, "POST", "/api/auth/register", "", "{"), 1200)
	after := scrape(t, g.metrics)
	series := `gateway_rate_limit_store_fallbacks_total{zone="auth"}`
	if d := after[series] - before[series]; d != 4 {
		t.Errorf("%s rose by %v, want 4 (one per request)", series, d)
	}
}
