package ratelimiter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var h Handler
	d := caddyfile.NewTestDispenser("caddysocial_rate_limit {http.auth.user.id} 600/1m burst 100 {\n name user\n max_keys 10\n}")
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := Handler{Key: "{http.auth.user.id}", Events: 600, Window: caddy.Duration(time.Minute), Burst: 100, Name: "user", MaxKeys: 10}
	if h.Key != want.Key || h.Events != want.Events || h.Window != want.Window || h.Burst != want.Burst ||
		h.Name != want.Name || h.MaxKeys != want.MaxKeys {
		t.Errorf("got %+v, want %+v", h, want)
	}
	for bad, msg := range map[string]string{
		"caddysocial_rate_limit":                                      "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip}":                          "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip} 10":                       "want <events>/<window>",
		"caddysocial_rate_limit {client_ip} x/1m":                     "want <events>/<window>",
		"caddysocial_rate_limit {client_ip} 0/1m":                     "want <events>/<window>",
		"caddysocial_rate_limit {client_ip} 10/soon":                  "window",
		"caddysocial_rate_limit {client_ip} 10/1m burst":              "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip} 10/1m burst 0":            "burst",
		"caddysocial_rate_limit {client_ip} 10/1m spurt 5":            "usage: caddysocial_rate_limit",
		"caddysocial_rate_limit {client_ip} 10/1m {\n colour blue\n}": `unknown option "colour"`,
		"caddysocial_rate_limit {client_ip} 10/1m {\n max_keys -5\n}": "max_keys",
		"caddysocial_rate_limit {client_ip} 10/1m {\n name\n}":        "wrong argument count",
	} {
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: err = %v, want it to mention %q", bad, err, msg)
		}
	}
}

// A provisioned handler gives each key its own budget, answers over the
// limit itself with 429, Retry-After and the JSON error, and lets a request
// without a key through unlimited.
func TestServeHTTP(t *testing.T) {
	h := provisioned(t, &Handler{Key: "{http.request.header.X-Client}", Events: 2, Window: caddy.Duration(time.Hour), Name: "unit"})
	passed := 0
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		passed++
		return nil
	})
	serve := func(client string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		if client != "" {
			r.Header.Set("X-Client", client)
		}
		r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
		if err := h.ServeHTTP(w, r, next); err != nil {
			t.Fatal(err)
		}
		return w
	}
	// t, the seconds until the next token, is 1800 less the test's run time.
	for i, want := range []string{`"unit";r=1;t=`, `"unit";r=0;t=`} {
		w := serve("a")
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("RateLimit"), want) ||
			w.Header().Get("RateLimit-Policy") != `"unit";q=2;w=3600` {
			t.Errorf("request %d: %d %v", i+1, w.Code, w.Header())
		}
	}
	w := serve("a")
	var body struct{ Error string }
	if w.Code != http.StatusTooManyRequests || !strings.HasPrefix(w.Header().Get("Retry-After"), "1") ||
		json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error != "rate limit exceeded" {
		t.Errorf("over the limit: %d %v %q", w.Code, w.Header(), w.Body)
	}
	if w := serve("b"); w.Code != http.StatusOK {
		t.Errorf("another key: %d", w.Code)
	}
	if w := serve(""); w.Code != http.StatusOK || w.Header().Get("RateLimit") != "" {
		t.Errorf("no key: %d %v", w.Code, w.Header())
	}
	if passed != 4 {
		t.Errorf("next reached %d times, want 4", passed)
	}
}
