package caddymodules_test

import (
	"strings"
	"sync"
	"testing"
)

// The repository's Caddyfile limits each user on authenticated routes and
// each address on /api/auth/*, with the RateLimit headers on every answer.
func TestGatewayRateLimits(t *testing.T) {
	g := startGateway(t)
	token, _ := g.login(t, "limits@example.com")

	r := g.do(t, "GET", "/api/profile/me", token, "")
	if r.status != 200 || r.header.Get("RateLimit-Policy") != `"user";q=600;w=60` || !strings.HasPrefix(r.header.Get("RateLimit"), `"user";r=`) {
		t.Fatalf("profile: %d, RateLimit-Policy %q, RateLimit %q", r.status, r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"))
	}
	r = g.do(t, "POST", "/api/auth/login", "", "{")
	if r.status != 400 || r.header.Get("RateLimit-Policy") != `"auth";q=300;w=60` {
		t.Fatalf("login: %d, RateLimit-Policy %q", r.status, r.header.Get("RateLimit-Policy"))
	}

	// 150 requests at once against a burst of 100 (refilling at 10/s).
	before := scrape(t, g.metrics)
	var mu sync.Mutex
	codes := map[int]int{}
	var limited result
	var wg sync.WaitGroup
	for range 150 {
		wg.Go(func() {
			r := g.do(t, "GET", "/api/posts/me", token, "")
			mu.Lock()
			defer mu.Unlock()
			codes[r.status]++
			if r.status == 429 {
				limited = r
			}
		})
	}
	wg.Wait()
	if codes[200] < 100 || codes[200] > 120 || codes[429] != 150-codes[200] {
		t.Fatalf("150 parallel requests of one user: %v; want 100 (plus the refill) through, the rest 429", codes)
	}
	want429(t, limited, "1")
	after := scrape(t, g.metrics)
	series := `gateway_rate_limited_total{endpoint="/api/posts/me"}`
	if d := after[series] - before[series]; d != float64(codes[429]) {
		t.Errorf("%s rose by %v, want %d", series, d, codes[429])
	}
	// Another user is not affected.
	other, _ := g.login(t, "limits-other@example.com")
	if r := g.do(t, "GET", "/api/posts/me", other, ""); r.status != 200 {
		t.Fatalf("another user: %d", r.status)
	}
}
