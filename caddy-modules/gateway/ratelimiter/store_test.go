package ratelimiter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/caddysocial/platform/caddy-modules/internal/redistest"
)

func TestUnmarshalCaddyfileStore(t *testing.T) {
	var h Handler
	d := caddyfile.NewTestDispenser("caddysocial_rate_limit {client_ip} 10/1m {\n name auth\n store valkey valkey:6379 {\n timeout 20ms\n }\n max_keys 5\n}")
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if h.Store == nil || h.Store.Address != "valkey:6379" || h.Store.Timeout != caddy.Duration(20*time.Millisecond) ||
		h.Name != "auth" || h.MaxKeys != 5 {
		t.Errorf("got %+v store %+v", h, h.Store)
	}
	h = Handler{}
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("caddysocial_rate_limit {client_ip} 10/1m {\n store redis redis://:pw@cache:6380/2\n}")); err != nil ||
		h.Store == nil || h.Store.Address != "redis://:pw@cache:6380/2" || h.Store.Timeout != 0 {
		t.Errorf("redis URL: %v %+v", err, h.Store)
	}
	for bad, msg := range map[string]string{
		"caddysocial_rate_limit {client_ip} 10/1m {\n store valkey\n}":                         "want store valkey <address>",
		"caddysocial_rate_limit {client_ip} 10/1m {\n store memcached m:11211\n}":              `store "memcached"`,
		"caddysocial_rate_limit {client_ip} 10/1m {\n store valkey a:1\n store valkey b:1\n}":  "store given twice",
		"caddysocial_rate_limit {client_ip} 10/1m {\n store valkey a:1 {\n timeout -1s\n }\n}": "store timeout",
		"caddysocial_rate_limit {client_ip} 10/1m {\n store valkey a:1 {\n colour blue\n }\n}": `unknown store option "colour"`,
	} {
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: err = %v, want it to mention %q", bad, err, msg)
		}
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h = Handler{Key: "{client_ip}", Events: 1, Window: caddy.Duration(time.Hour), Name: "bad", Store: &Store{Address: "redis://%zz"}}
	if err := h.Provision(ctx); err == nil || !strings.Contains(err.Error(), "store address") {
		t.Errorf("a malformed URL: %v", err)
	}
	if err := h.Cleanup(); err != nil {
		t.Error(err)
	}
}

// provisioned returns a handler on its own caddy.Context, as a second
// gateway instance would have; t.Cleanup cleans it up.
func provisioned(t *testing.T, h *Handler) *Handler {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Cleanup(); err != nil {
			t.Error(err)
		}
	})
	return h
}

func serveAs(t *testing.T, h *Handler, client string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("X-Client", client)
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	return w
}

// sharedPair is two gateway instances' handlers of one zone on srv. Their
// max_keys differ so that, in this one process, they do not also share a
// local limiter (caddy.UsagePool): what they share goes through the server.
func sharedPair(t *testing.T, srv *redistest.Server, zone string) (a, b *Handler) {
	t.Helper()
	mk := func(maxKeys int) *Handler {
		// A loaded CI machine must not turn a slow answer into a fallback.
		store := &Store{Address: srv.Addr(), Timeout: caddy.Duration(10 * time.Second)}
		return provisioned(t, &Handler{Key: "{http.request.header.X-Client}", Events: 10, Window: caddy.Duration(time.Hour),
			Burst: 6, Name: zone, MaxKeys: maxKeys, Store: store})
	}
	return mk(100), mk(200)
}

// Two gateway instances enforce one limit: of requests alternating between
// them, the burst passes in total, and each answers the rest with 429 and
// the same headers as the local limiter.
func TestTwoInstancesShareOneLimit(t *testing.T) {
	srv := redistest.Start(t)
	a, b := sharedPair(t, srv, "shared")
	if a.limiter == b.limiter {
		t.Fatal("the two handlers share a local limiter; the test would prove nothing")
	}
	before := testutil.ToFloat64(fallbacks().WithLabelValues("shared"))
	ok := 0
	for i := range 20 {
		h := a
		if i%2 == 1 {
			h = b
		}
		switch w := serveAs(t, h, "client-1"); w.Code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			if w.Header().Get("Retry-After") == "" || !strings.HasPrefix(w.Header().Get("RateLimit"), `"shared";r=0;t=`) ||
				w.Header().Get("RateLimit-Policy") != `"shared";q=10;w=3600` {
				t.Errorf("429 headers: %v", w.Header())
			}
		default:
			t.Errorf("request %d: status %d", i+1, w.Code)
		}
	}
	if ok != 6 {
		t.Errorf("%d of 20 requests allowed across two instances, want the burst 6", ok)
	}
	if got := testutil.ToFloat64(fallbacks().WithLabelValues("shared")) - before; got != 0 {
		t.Errorf("%v fallbacks with the store up", got)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if keys, err := rdb.Keys(context.Background(), "*caddysocial_rate_limit:shared:*client-1").Result(); err != nil || len(keys) != 1 {
		t.Errorf("keys in the store: %q, %v", keys, err)
	}
}

// The store stopped: requests are still answered, by the local limiter,
// never with 500, and counted; once it is back, it decides again.
func TestStoreDownFallsBackAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	a, b := sharedPair(t, srv, "fallback")
	counter := fallbacks().WithLabelValues("fallback")
	if w := serveAs(t, a, "c"); w.Code != http.StatusOK {
		t.Fatalf("store up: %d", w.Code)
	}
	srv.Stop()
	before := testutil.ToFloat64(counter)
	codes := map[int]int{}
	for range 10 {
		codes[serveAs(t, a, "c").Code]++
	}
	// a's local bucket counted a's request before the outage: the rest of
	// the burst (5), then 429.
	if codes[http.StatusOK] != 5 || codes[http.StatusTooManyRequests] != 5 {
		t.Errorf("store down: statuses %v, want 5 × 200 and 5 × 429 from the local limiter", codes)
	}
	if got := testutil.ToFloat64(counter) - before; got != 10 {
		t.Errorf("fallback counter grew by %v, want 10", got)
	}

	srv.Start()
	// Within a second (the backoff) each handler asks the store again; wait
	// for its first decision that is not a fallback, however long the
	// machine takes.
	for _, h := range []*Handler{a, b} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := testutil.ToFloat64(counter)
			if w := serveAs(t, h, "d"); w.Code != http.StatusOK && w.Code != http.StatusTooManyRequests {
				t.Fatalf("while recovering: %d", w.Code)
			}
			if testutil.ToFloat64(counter) == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the store is back but every decision is still a fallback")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Shared again: a and b drain one budget of a new key together.
	ok := 0
	for i := range 10 {
		h := a
		if i%2 == 1 {
			h = b
		}
		if serveAs(t, h, "e").Code == http.StatusOK {
			ok++
		}
	}
	if ok != 6 {
		t.Errorf("after recovery: %d of 10 allowed across two instances, want 6", ok)
	}
}

// The client is shared by the handlers of one address and closed with the
// last of them.
func TestStoreClientReleased(t *testing.T) {
	srv := redistest.Start(t)
	var hs []*Handler
	for _, name := range []string{"one", "two"} {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		defer cancel()
		h := &Handler{Key: "{client_ip}", Events: 1, Window: caddy.Duration(time.Hour), Name: name, Store: &Store{Address: srv.Addr()}}
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	if refs, ok := clients.References(srv.Addr()); !ok || refs != 2 {
		t.Errorf("client references %d (%v), want 2", refs, ok)
	}
	for _, h := range hs {
		if err := h.Cleanup(); err != nil {
			t.Error(err)
		}
	}
	if _, ok := clients.References(srv.Addr()); ok {
		t.Error("the client outlives its last handler")
	}
}
